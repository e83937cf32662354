"""A keeper SIGKILLed mid-call: its peer adopts its calls from Redis, takes the PBX's
in-dialog requests (a target refresh), answers the caller's (relayed to it, as the edge's
Kamailio will), and rescues them when their PBX dies later. Real keepers, rtpengine,
redis-server and SIPp on 127.0.0.1."""

import time

import pytest
import redis

from samu_keeper.store import CallStore
from tests.edge.harness import wait_for
from tests.keeper.lab import Lab, wait_answered
from tests.keeper.sipclient import send_in_dialog

pytestmark = pytest.mark.sip
CALLS = 3


def test_a_peer_adopts_a_killed_keepers_calls_and_goes_on_with_them(keeper_lab: Lab):
    lab = keeper_lab
    a, b = lab.pbx("pbx-a"), lab.pbx("pbx-b")
    first, peer = lab.keeper("keeper-a"), lab.keeper("keeper-b")
    callers = lab.call(first, [a, b], CALLS, hold_ms=30_000)
    wait_answered(callers, CALLS)
    store = CallStore(redis.Redis.from_url(lab.redis_url), "test")
    wait_for(lambda: len(store.all()) == CALLS, 5, "every answered call's record in Redis")
    states = {s.call_id: s for s in store.all()}
    assert {s.owner for s in states.values()} == {"keeper-a"}
    one, *others = sorted(states)

    # while its owner lives, a request relayed to the peer is refused, not taken
    assert (
        send_in_dialog(states[one], "INFO", peer.port, states[one].carrier.remote_cseq + 1) == 503
    )

    first.kill()
    wait_for(lambda: peer.metric("samu_keeper_adopted_total") == CALLS, 5, "the peer to adopt")
    assert {s.owner for s in store.all()} == {"keeper-b"}
    # the adopter tells the PBX where the call now is (a re-INVITE, same media)
    wait_for(
        lambda: sorted(line[1] for line in lab.lines("pbx-a") if line[0] == "REFRESH") == sorted(states),
        5, "target refreshes at the PBX",
    )  # fmt: skip

    # the caller hangs up one call: the peer ends it on the PBX
    assert send_in_dialog(states[one], "BYE", peer.port, states[one].carrier.remote_cseq + 2) == 200
    wait_for(lambda: ["BYE", one] in lab.lines("pbx-a"), 5, "the BYE at the PBX")
    wait_for(lambda: store.load(one) is None, 5, "the ended call's record to go")

    # the PBX dies under the adopted calls: the peer rescues them on the next PBX
    time.sleep(0.5)
    a.kill()
    wait_for(
        lambda: sorted(line[1] for line in lab.lines("pbx-b") if line[0] == "CALL") == sorted(others),
        5, "the rescue of the adopted calls",
    )  # fmt: skip
    wait_for(
        lambda: peer.metric("samu_keeper_rescued_total", signal="transport", tenant="samu-30") == len(others),
        5, "the rescued calls' audio back",
    )  # fmt: skip
    for call_id in others:
        state = store.load(call_id)
        assert state is not None and state.rescues == 1 and state.pbx_uri == b.uri
        assert send_in_dialog(state, "BYE", peer.port, state.carrier.remote_cseq + 3) == 200
    wait_for(
        lambda: sorted(line[1] for line in lab.lines("pbx-b") if line[0] == "BYE") == sorted(others),
        5, "the BYEs on the new PBX",
    )  # fmt: skip
    callers.stop()  # their own BYEs would go to the dead keeper: the edge is not here to relay
