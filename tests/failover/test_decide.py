"""Worked examples of the failover decision and the fencing plan (the property test does the rest)."""

from samu_operator.core.failover import (
    Action,
    NodeFact,
    PodFact,
    Policy,
    Reason,
    State,
    World,
    decide,
)
from samu_operator.core.fencing import (
    EPOCH_LABEL,
    ROLE_LABEL,
    LabelWrite,
    ServiceWrite,
    StatusWrite,
    converge_plan,
    promotion_plan,
)

POLICY = Policy(("b", "a", "c"), min_interval=30.0)
NOW = 10_000.0


def world(ready=("a", "b", "c"), nodes_down=(), zones_down=(), active=None, epoch=1, gone=()):
    pods = tuple(
        PodFact(
            f"pbx-{z}-0",
            z,
            z in ready,
            node=f"node-{z}",
            role="active" if z == active else "standby",
            epoch=epoch if z == active else None,
        )
        for z in "abc"
        if z not in gone
    )
    nodes = tuple(NodeFact(f"node-{z}", z, z not in nodes_down) for z in "abc")
    nodes += tuple(NodeFact(f"spare-{z}", z, True) for z in "abc")  # one node down != zone down
    return World(pods, nodes, frozenset(zones_down))


def test_initial_election_follows_zone_order_and_skips_unready():
    d = decide(POLICY, State(), world(ready=("a", "c")), NOW)
    assert (d.action, d.reason, d.to_zone) == (Action.PROMOTE, Reason.INITIAL, "a")


def test_initial_election_waits_when_nothing_is_ready():
    d = decide(POLICY, State(), world(ready=()), NOW)
    assert (d.action, d.reason) == (Action.NONE, Reason.WAITING)


def test_healthy_active_is_kept_even_outside_its_preferred_zone():
    d = decide(POLICY, State("c", 4), world(active="c", epoch=4), NOW)
    assert (d.action, d.reason) == (Action.KEEP, Reason.HEALTHY)


def test_node_not_ready_promotes_at_once_in_zone_order():
    state = State("b", 3, last_promotion_at=NOW - 1, last_from_zone="c")
    d = decide(POLICY, state, world(active="b", epoch=3, nodes_down=("b",)), NOW)
    assert (d.action, d.reason, d.to_zone, d.from_zone) == (
        Action.PROMOTE,
        Reason.NODE_NOT_READY,
        "a",
        "b",
    )


def test_declared_zone_down_and_deleted_pod_are_hard_signals():
    d = decide(POLICY, State("b", 3), world(active="b", epoch=3, zones_down=("b",)), NOW)
    assert (d.reason, d.to_zone) == (Reason.ZONE_DOWN, "a")
    d = decide(POLICY, State("b", 3), world(active="b", epoch=3, gone=("b",)), NOW)
    assert (d.reason, d.to_zone) == (Reason.POD_DELETED, "a")


def test_unready_pod_waits_for_the_flap_guard_then_promotes():
    w = world(active="b", epoch=3, ready=("a", "c"))
    state = State("b", 3, last_promotion_at=NOW - 10, last_from_zone="a")
    held = decide(POLICY, state, w, NOW)
    assert (held.action, held.reason) == (Action.HOLD, Reason.FLAP_GUARD)
    assert held.retry_after is not None and abs(held.retry_after - 20) < 1e-6
    later = decide(POLICY, state, w, NOW + 21)
    assert (later.action, later.to_zone) == (Action.PROMOTE, "a")


def test_no_ping_pong_back_to_the_zone_just_left():
    state = State("b", 3, last_promotion_at=NOW - 5, last_from_zone="a")
    d = decide(POLICY, state, world(active="b", epoch=3, nodes_down=("b",)), NOW)
    assert d.to_zone == "c"  # 'a' comes first in order but was just left
    only_a = world(active="b", epoch=3, nodes_down=("b",), ready=("a", "b"))
    assert decide(POLICY, state, only_a, NOW).to_zone == "a"  # last resort beats no PBX


def test_no_standby_is_a_failure_with_the_reason():
    d = decide(POLICY, State("b", 3), world(active="b", epoch=3, ready=(), nodes_down=("b",)), NOW)
    assert (d.action, d.reason) == (Action.NONE, Reason.NO_STANDBY)
    assert "NodeNotReady" in d.message


def test_switchover_moves_a_healthy_active_and_refuses_a_bad_target():
    w = world(active="b", epoch=3, ready=("a", "b"))
    d = decide(POLICY, State("b", 3, switchover_to="a"), w, NOW)
    assert (d.action, d.reason, d.to_zone, d.planned) == (
        Action.PROMOTE,
        Reason.SWITCHOVER,
        "a",
        True,
    )
    refused = decide(POLICY, State("b", 3, switchover_to="c"), w, NOW)
    assert (refused.action, refused.reason) == (Action.KEEP, Reason.SWITCHOVER_REJECTED)
    unknown = decide(POLICY, State("b", 3, switchover_to="z"), w, NOW)
    assert "has no PBX" in unknown.message


def test_recreated_active_pod_is_re_elected_with_a_new_epoch():
    w = world(active=None, epoch=None)  # zone b's pod came back without fencing labels
    d = decide(POLICY, State("b", 3), w, NOW)
    assert (d.action, d.reason, d.to_zone) == (Action.PROMOTE, Reason.RESUMED, "b")


def test_promotion_plan_fences_before_committing_and_activating():
    w = world(active="b", epoch=3, nodes_down=("b",))
    d = decide(POLICY, State("b", 3), w, NOW)
    steps = promotion_plan(State("b", 3), w, d, NOW)
    assert steps[0] == LabelWrite(
        "pbx-b-0",
        ((ROLE_LABEL, "fenced"), (EPOCH_LABEL, None)),
        (("samu-platform.io/fenced-at", f"{NOW:.3f}"),),
    )
    assert steps[1] == StatusWrite("a", 4)
    assert steps[2].pod == "pbx-a-0" and dict(steps[2].labels) == {
        ROLE_LABEL: "active",
        EPOCH_LABEL: "4",
    }
    assert steps[3] == ServiceWrite(4)


def test_converge_fences_a_stale_active_coming_back():
    stale = World(
        (
            PodFact("pbx-a-0", "a", True, node="node-a", role="active", epoch=4),
            PodFact("pbx-b-0", "b", True, node="node-b", role="active", epoch=3),
        ),
        (NodeFact("node-a", "a", True), NodeFact("node-b", "b", True)),
    )
    steps = converge_plan(POLICY, State("a", 4), stale, 4, NOW)
    assert [s.pod for s in steps if isinstance(s, LabelWrite)] == ["pbx-b-0"]
    assert dict(steps[0].labels)[ROLE_LABEL] == "fenced"


def test_initial_election_waits_a_little_for_the_preferred_zone():
    w = world(ready=("a", "c"))  # 'b' comes first in POLICY but is still starting
    young = decide(POLICY, State(created_at=NOW - 5), w, NOW)
    assert (young.action, young.reason) == (Action.NONE, Reason.WAITING)
    old = decide(POLICY, State(created_at=NOW - 60), w, NOW)
    assert (old.action, old.to_zone) == (Action.PROMOTE, "a")
