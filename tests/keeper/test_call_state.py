"""Replicated per-call state: a round trip keeps every dialog detail, a bad record is named,
and exactly one live peer adopts each orphaned call."""

import dataclasses
import json

import pytest

from samu_keeper.core.call_state import (
    CallState,
    Leg,
    StateError,
    adopter,
    from_json,
    key,
    orphans_for,
    to_json,
)


def state(call_id: str = "c-1@carrier", owner: str = "keeper-a") -> CallState:
    return CallState(
        call_id=call_id,
        tenant="samu-30",
        caller="+33612345678",
        carrier=Leg(
            call_id, "k-tag", "carrier-tag", 1, 3, "sip:otn@192.0.2.1:5061", ("<sip:e1;lr>",)
        ),
        pbx=Leg("b2b-" + call_id, "k-tag2", "pbx-tag", 2, 1, "sip:pbx@10.0.0.5:5060"),
        pbx_uri="sip:10.0.0.5:5060",
        rtpengine={"call-id": call_id, "from-tag": "carrier-tag", "to-tag": "k-tag"},
        owner=owner,
        queue="vital-distress",
        position="arm-07",
        answered_at=1_700_000_000.5,
    )


def test_a_record_round_trips_with_every_dialog_detail():
    original = state()
    assert from_json(to_json(original)) == original
    assert key(original.call_id) == "samu:keeper:call:c-1@carrier"


@pytest.mark.parametrize(
    ("mutate", "named"),
    [
        (lambda d: d.pop("tenant"), "'tenant'"),
        (lambda d: d["carrier"].update(local_cseq="1"), "carrier leg: field 'local_cseq'"),
        (lambda d: d["pbx"].update(remote_tag=""), "PBX leg: field 'remote_tag'"),
        (lambda d: d["rtpengine"].pop("to-tag"), "'rtpengine'"),
        (lambda d: d["carrier"].update(route_set="sip:x"), "'route_set'"),
    ],
)
def test_a_record_a_peer_cannot_act_on_names_the_field(mutate, named):
    data = json.loads(to_json(state()))
    mutate(data)
    with pytest.raises(StateError, match=named):
        from_json(json.dumps(data))


def test_garbage_is_a_clear_error():
    with pytest.raises(StateError, match="not JSON"):
        from_json("{torn")


def test_each_orphan_is_adopted_by_exactly_one_live_peer():
    calls = [state(f"c-{i}", owner="keeper-dead") for i in range(200)]
    live = ["keeper-a", "keeper-b", "keeper-c"]
    adopted = {peer: orphans_for(peer, calls, live) for peer in live}
    ids = [c.call_id for calls_of in adopted.values() for c in calls_of]
    assert sorted(ids) == sorted(c.call_id for c in calls)  # every call once, none twice
    assert all(adopted[p] for p in live)  # the load spreads over the peers


def test_calls_of_a_live_owner_are_never_adopted():
    calls = [state(f"c-{i}", owner="keeper-a") for i in range(20)]
    assert orphans_for("keeper-b", calls, ["keeper-a", "keeper-b"]) == []


def test_the_adopter_does_not_change_when_an_unrelated_peer_dies():
    # rendezvous hashing: calls move only off the peer that is gone
    before = {f"c-{i}": adopter(f"c-{i}", ["a", "b", "c"]) for i in range(100)}
    after = {cid: adopter(cid, ["a", "b"]) for cid in before}
    assert all(after[cid] == owner for cid, owner in before.items() if owner != "c")
    assert adopter("c-1", []) is None


def test_a_rescued_state_is_a_new_record():
    rescued = dataclasses.replace(state(), pbx_uri="sip:10.0.1.5:5060", rescues=1)
    assert from_json(to_json(rescued)).rescues == 1
