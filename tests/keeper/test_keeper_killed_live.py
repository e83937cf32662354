"""A keeper SIGKILLed with 10 answered calls, behind a stand-in of the edge that does what
docs/keeper.md asks of the edge's Kamailio (record-route, relay an unanswered in-dialog
request to the other keeper): the peer adopts the calls, the callers hear no break (their
media never went through the keeper), no BYE or error reaches them, and each caller's BYE,
relayed to the peer, ends the call on the PBX. Real Kamailio, keepers, rtpengine,
redis-server and SIPp on 127.0.0.1."""

import itertools
import time

import pytest

from tests.edge.harness import HOST, wait_for
from tests.keeper.lab import Lab, wait_answered
from tests.media.recordings import recording_of

pytestmark = pytest.mark.sip
CALLS = 10


def longest_pause(packets) -> float:
    times = sorted(p.at for p in packets)
    return max(b - a for a, b in itertools.pairwise(times))


def test_a_killed_keepers_calls_go_on_with_its_peer_through_the_edge(keeper_lab: Lab):
    lab = keeper_lab
    a = lab.pbx("pbx-a")
    first, peer = lab.keeper("keeper-a"), lab.keeper("keeper-b")
    edge = lab.edge(first, peer)
    callers = lab.call(first, [a], CALLS, hold_ms=6000, to_port=edge.port)
    wait_answered(callers, CALLS)
    time.sleep(1.0)
    first.kill()
    wait_for(lambda: peer.metric("samu_keeper_adopted_total") == CALLS, 5, "the peer to adopt")

    assert callers.wait(timeout=40) == 0, callers.log.read_text()[-3000:]
    call_ids = callers.answered()
    # every caller's BYE reached the peer through the edge and was answered
    assert callers.byes() == dict.fromkeys(call_ids, "ok")
    lines = lab.lines("pbx-a")
    assert sorted(line[1] for line in lines if line[0] == "BYE") == sorted(call_ids)
    assert sorted(line[1] for line in lines if line[0] == "REFRESH") == sorted(call_ids)
    # a call whose offer rtpengine did not answer in time (a stalled machine) is kept
    # unanchored, its media straight between caller and PBX: only the anchored ones have an
    # edge recording to read
    low, high = lab.rtpengine.port_min, lab.rtpengine.port_min + lab.rtpengine.ports
    anchored = [c for c, port in callers.media_ports().items() if low <= port < high]
    assert anchored, "rtpengine anchored no call"
    for call_id in anchored:
        # the PBX's audio never stopped: the keeper is not in the media path (the PBX echoes
        # the caller, so it pauses only where the caller's own sending paused)
        streams = recording_of(lab.rtpengine, call_id).streams()
        pbx = streams.pop((HOST, lab.media_ports["pbx-a"]))
        caller = max(streams.values(), key=len)
        assert longest_pause(pbx) <= min(1.0, longest_pause(caller) + 0.1), call_id
    assert not any(name == "samu_keeper_rescued_total" for name, _ in peer.metrics())
    assert "relayed to the other keeper" in edge.log.read_text()
