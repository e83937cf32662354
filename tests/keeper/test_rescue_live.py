"""Answered calls survive their PBX: a real keeper daemon, rtpengine and redis-server, SIPp
callers sending marker audio and SIPp PBX stand-ins echoing it, all on 127.0.0.1. The PBX
holding 10 answered calls is SIGKILLed (its port refuses: the transport signal) or SIGSTOPped
(it keeps its port and says nothing: only the media counters see it)."""

import time

import pytest
import redis

from tests.edge.harness import wait_for
from tests.keeper.lab import Lab, wait_answered
from tests.media.audio import PCMU, RATE, RtpPacket, markers, stream_samples
from tests.media.recordings import recording_of

pytestmark = pytest.mark.sip
CALLS = 10
HOLD_MS = 5000


def seconds_of(packets: list[RtpPacket]) -> list[int]:
    """The marker seconds in a stream, read on the caller's own second boundaries (the PBX
    echoes the caller's RTP timestamps, so a stream that starts mid-second is padded)."""
    first = min(p.timestamp for p in packets if p.payload_type == PCMU)
    samples = [0] * (first % RATE) + stream_samples(packets)
    return [m for m in markers(samples) if m is not None]


def gap_and_markers(lab: Lab, call_id: str, dead: str, new: str) -> tuple[float, list, list]:
    """From the call's edge recording: the caller's gap (the dead PBX's last packet to the
    new PBX's first), what the new PBX sent back (the caller's markers it echoes) and what
    the caller said (its own markers)."""
    streams = recording_of(lab.rtpengine, call_id).streams()
    by_port = {port: packets for (_host, port), packets in streams.items()}
    old, fresh = by_port[lab.media_ports[dead]], by_port[lab.media_ports[new]]
    pbx_ports = set(lab.media_ports.values())
    caller = max(
        (p for port, p in by_port.items() if port not in pbx_ports), key=len
    )  # the caller's own stream (the prompt, if recorded, is shorter)
    gap = min(p.at for p in fresh) - max(p.at for p in old)
    return gap, seconds_of(fresh), seconds_of(caller)


@pytest.mark.parametrize(
    ("how", "signals"), [("kill", {"transport"}), ("freeze", {"media", "probe"})]
)
def test_answered_calls_are_taken_back_by_the_next_pbx(keeper_lab: Lab, how, signals):
    lab = keeper_lab
    a, b = lab.pbx("pbx-a"), lab.pbx("pbx-b")
    keeper = lab.keeper()
    callers = lab.call(keeper, [a, b], CALLS, HOLD_MS)
    wait_answered(callers, CALLS)
    wait_for(lambda: len(lab.lines("pbx-a")) >= CALLS, 5, "the PBX to have every call")
    time.sleep(1.0)  # a second of conversation
    a.kill() if how == "kill" else a.freeze()

    assert callers.wait(timeout=30) == 0, callers.log.read_text()[-3000:]
    call_ids = callers.answered()
    assert len(call_ids) == CALLS
    # no BYE, no re-INVITE, no error reached a caller (SIPp fails a call on any of them), and
    # each caller's own BYE was answered
    assert callers.byes() == dict.fromkeys(call_ids, "ok")
    on_b = lab.lines("pbx-b")
    rescued = {line[1]: line[2:6] for line in on_b if line[0] == "CALL"}
    assert sorted(rescued) == sorted(call_ids)
    # the new PBX is told it is a rescue, from which PBX, which queue and position had the
    # call (the first PBX said so in its 200) and who the caller is
    said = {line[1]: line[6] for line in lab.lines("pbx-a") if line[0] == "CALL"}
    for call_id, (how, queue, position, caller) in rescued.items():
        assert (how, queue, position) == (f"1;from={a.uri}", "general", said[call_id])
        assert caller.startswith("0466") and call_id.startswith(caller[4:] + "-"), caller
    # the caller's later BYE ended the call on the new PBX
    assert sorted(line[1] for line in on_b if line[0] == "BYE") == sorted(call_ids)

    for call_id in call_ids:
        gap, back, said = gap_and_markers(lab, call_id, "pbx-a", "pbx-b")
        assert 0 < gap <= 2.0, f"{call_id}: {gap:.3f} s without audio from a PBX"
        # the new PBX echoes the caller's live audio: its seconds follow on from the loss up
        # to the caller's BYE, and the caller's own audio never stopped
        assert back and back == list(range(back[0], 5)), back
        assert back[0] <= 3, f"{call_id}: the new PBX's audio starts at second {back[0]}"
        assert said == [0, 1, 2, 3, 4], said

    got = {
        labels: value
        for (name, labels), value in keeper.metrics().items()
        if name == "samu_keeper_rescued_total"
    }
    assert sum(got.values()) == CALLS and {dict(k)["signal"] for k in got} <= signals, got
    assert keeper.metric("samu_keeper_rescue_gap_seconds_count", tenant="samu-30") == CALLS
    assert (
        keeper.metric("samu_keeper_rescue_gap_seconds_bucket", tenant="samu-30", le="2.0") == CALLS
    )
    assert not any(name == "samu_keeper_rescue_failed_total" for name, _ in keeper.metrics())
    client = redis.Redis.from_url(lab.redis_url)
    wait_for(lambda: not client.keys("samu:keeper:call:*"), 5, "the ended calls' records to go")
