"""The edge's media and recording through the failures of a call's other parts: the call moved
to the next PBX, the PBX killed mid-call, rtpengine itself gone (real Kamailio + rtpengine +
SIPp with G.711 audio on 127.0.0.1)."""

import json
import re
import time

import pytest

from tests.edge.conftest import Lab, tenant_doc
from tests.edge.harness import wait_for
from tests.media.lab import MediaCaller, add_audio_pbx
from tests.media.recordings import caller_markers, metadata_of, recording_of, recordings_of


def test_a_call_moved_to_the_next_pbx_keeps_its_media_port_and_one_recording(lab: Lab) -> None:
    # PBX a plays its greeting (183 with SDP), then fails (503): the call moves to PBX b
    add_audio_pbx(lab, "samu-30", "a", scenario="pbx_early_then_fail.xml")
    add_audio_pbx(lab, "samu-30", "b")
    lab.start([tenant_doc("30")])
    caller = MediaCaller(lab).start(calls=1, hold_ms=3000)
    assert caller.wait() == 0, caller.log.read_text()[-2000:]
    [call] = caller.calls()
    assert call.pbx == "samu-30-b"
    assert call.early_port is not None, "PBX a's 183 reached the caller with its SDP"
    assert call.early_port == call.port, "the caller's media address moved with the PBX"
    recording = recording_of(lab.rtpengine, call.call_id)
    assert len(recordings_of(lab.rtpengine, call.call_id)) == 1
    by_sender = recording.streams()
    assert caller_markers(by_sender[("127.0.0.1", caller.media_port)])[:3] == [0, 1, 2]
    # PBX b, whose SDP came last, gets the caller's audio and its echo reaches the caller
    echoed = [s for (_, port), s in by_sender.items() if port != caller.media_port]
    assert echoed and max(len(s) for s in echoed) > 100, list(by_sender)
    assert metadata_of(lab.rtpengine, call.call_id)["tenant"] == "samu-30"


def test_a_call_overflowed_to_the_partner_keeps_its_media_port_and_one_recording(
    lab: Lab,
) -> None:
    # both PBX of SAMU 30 play a greeting and fail: débordement to SAMU 34, which answers
    add_audio_pbx(lab, "samu-30", "a", scenario="pbx_early_then_fail.xml")
    add_audio_pbx(lab, "samu-30", "b", scenario="pbx_early_then_fail.xml")
    add_audio_pbx(lab, "samu-34", "a")
    add_audio_pbx(lab, "samu-34", "b")
    lab.start([tenant_doc("30", partner="samu-34"), tenant_doc("34", partner="samu-30")])
    caller = MediaCaller(lab).start(calls=1, hold_ms=3000)
    assert caller.wait() == 0, caller.log.read_text()[-2000:]
    [call] = caller.calls()
    assert call.pbx.startswith("samu-34-")
    assert call.early_port == call.port, "the caller's media address moved with the call"
    assert len(recordings_of(lab.rtpengine, call.call_id)) == 1
    recording = recording_of(lab.rtpengine, call.call_id)
    assert caller_markers(recording.streams()[("127.0.0.1", caller.media_port)])[:3] == [0, 1, 2]
    # the call is SAMU 30's (the number called), answered by its partner
    assert metadata_of(lab.rtpengine, call.call_id)["tenant"] == "samu-30"


def test_a_pbx_killed_mid_call_the_edge_records_the_caller_until_its_bye(lab: Lab) -> None:
    pbx = add_audio_pbx(lab, "samu-30", "a")
    add_audio_pbx(lab, "samu-30", "b")
    lab.start([tenant_doc("30")])
    caller = MediaCaller(lab).start(calls=1, hold_ms=5000)
    wait_for(lambda: bool(caller.calls()), 15, "the call's answer")
    time.sleep(1.5)  # the call is up and talking when its PBX dies
    pbx.kill()
    assert caller.wait() == 0, caller.log.read_text()[-2000:]
    [call] = caller.calls()
    assert call.pbx == "samu-30-a"
    recording = recording_of(lab.rtpengine, call.call_id)
    heard = caller_markers(recording.streams()[("127.0.0.1", caller.media_port)])
    # every second the caller spoke, before and after the PBX died, up to its BYE
    assert heard[:5] == [0, 1, 2, 3, 4], heard


def _unrecorded(metrics: str, tenant: str) -> float:
    # xhttp_prom prefixes "kamailio_" and appends a timestamp
    pattern = rf'^kamailio_samu_edge_unrecorded_calls_total{{samu="{tenant}"}} (\S+)'
    found = re.search(pattern, metrics, re.M)
    return float(found.group(1)) if found else 0.0


@pytest.mark.parametrize("failure", ["killed", "hung"])
def test_rtpengine_down_calls_go_through_counted_unrecorded_and_the_pbx_is_told(
    lab: Lab, failure: str
) -> None:
    pbx_a = add_audio_pbx(lab, "samu-30", "a")
    add_audio_pbx(lab, "samu-30", "b")
    lab.start([tenant_doc("30")])
    if failure == "killed":
        lab.rtpengine.kill()
    else:
        lab.rtpengine.freeze()
    caller = MediaCaller(lab).start(calls=5, hold_ms=1000, rate=5)
    assert caller.wait() == 0, caller.log.read_text()[-2000:]
    calls = caller.calls()
    assert len(calls) == 5 and all(c.bye == "ok" for c in calls)
    # rtpengine's wait (2 x 100 ms at most, before the call is relayed) moves no call: every
    # one is answered by the active PBX
    assert {c.pbx for c in calls} == {"samu-30-a"}
    assert all(c.unrecorded == "edge" for c in calls), "the PBX knows its copy is the only one"
    # the caller's media goes straight to the PBX (the PBX's own SDP reached the caller)
    low = lab.rtpengine.port_min
    assert not any(low <= c.port < low + lab.rtpengine.ports for c in calls)
    assert _unrecorded(lab.metrics(), "samu-30") == 5
    events = [m for m in lab.edge.log_messages() if m.startswith("SAMU-UNRECORDED-CALL ")]
    logged = {json.loads(m.split(" ", 1)[1])["callId"] for m in events}
    assert {call.call_id for call in calls} <= logged, logged
    assert pbx_a.proc is not None and pbx_a.proc.poll() is None


def test_recorded_calls_are_not_counted_unrecorded(lab: Lab) -> None:
    add_audio_pbx(lab, "samu-30", "a")
    add_audio_pbx(lab, "samu-30", "b")
    lab.start([tenant_doc("30")])
    caller = MediaCaller(lab).start(calls=2, hold_ms=1000, rate=5)
    assert caller.wait() == 0
    calls = caller.calls()
    assert len(calls) == 2 and all(c.unrecorded == "" for c in calls)
    assert _unrecorded(lab.metrics(), "samu-30") == 0


def test_the_pbx_moving_the_media_mid_call_keeps_it_anchored_and_recorded(lab: Lab) -> None:
    # 1.5 s into the call the PBX re-INVITEs the caller with its second media port (as one
    # taking over a call does): the new media path goes through rtpengine too
    pbx = add_audio_pbx(lab, "samu-30", "a", scenario="pbx_reinvite.xml")
    add_audio_pbx(lab, "samu-30", "b")
    lab.start([tenant_doc("30")])
    caller = MediaCaller(lab, scenario="caller_reinvite.xml").start(calls=1, hold_ms=3000)
    assert caller.wait() == 0, caller.log.read_text()[-2000:]
    [call] = caller.calls()
    assert call.pbx == "samu-30-a" and call.bye == "ok"
    by_sender = recording_of(lab.rtpengine, call.call_id).streams()
    pbx_media = int(pbx.args[pbx.args.index("-mp") + 1])
    # the caller's audio never left rtpengine: every second of it in the recording
    assert caller_markers(by_sender[("127.0.0.1", caller.media_port)])[:4] == [0, 1, 2, 3]
    # the PBX's audio from its first port, then from its second
    assert len(by_sender[("127.0.0.1", pbx_media)]) > 25
    assert len(by_sender[("127.0.0.1", pbx_media + 2)]) > 50
