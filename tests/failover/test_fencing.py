"""The fencing plans, case by case, with the label values written out (the contract of
docs/failover.md), so that a plan which fences too little, unfences too early or leaves the
Service behind fails here even where the property test's random worlds rarely go."""

from samu_operator.core.failover import (
    Action,
    Decision,
    NodeFact,
    PodFact,
    Policy,
    Reason,
    State,
    World,
)
from samu_operator.core.fencing import (
    LabelWrite,
    ServiceWrite,
    StatusWrite,
    converge_plan,
    promotion_plan,
    switchover_settled,
)

ROLE, EPOCH, FENCED_AT = (
    "samu-platform.io/role",
    "samu-platform.io/epoch",
    "samu-platform.io/fenced-at",
)
NOW = 5000.0
POLICY = Policy(("a", "b", "c"), min_interval=30.0)


def pod(zone, role=None, epoch=None, ready=True, deleted=False):
    return PodFact(f"pbx-{zone}-0", zone, ready, deleted, f"node-{zone}", role, epoch)


def world(*pods):
    return World(tuple(pods), tuple(NodeFact(f"node-{z}", z, True) for z in "abc"), frozenset())


def fenced(zone, now=NOW):
    return LabelWrite(
        f"pbx-{zone}-0", ((ROLE, "fenced"), (EPOCH, None)), ((FENCED_AT, f"{now:.3f}"),)
    )


def standby(zone):
    return LabelWrite(f"pbx-{zone}-0", ((ROLE, "standby"), (EPOCH, None)))


def test_a_promotion_fences_every_pod_labelled_active_or_still_carrying_an_epoch():
    pods = (pod("a", "active", None), pod("b"), pod("c", "standby", 3))
    decision = Decision(Action.PROMOTE, Reason.POD_NOT_READY, "b", "pbx-b-0", "a")
    steps = promotion_plan(State("a", 3), world(*pods), decision, NOW)
    assert steps == [
        fenced("a"),
        fenced("c"),
        StatusWrite("b", 4),
        LabelWrite("pbx-b-0", ((ROLE, "active"), (EPOCH, "4")), ((FENCED_AT, None),)),
        ServiceWrite(4),
    ]


def test_converge_fences_a_stale_active_sharing_the_zone_or_the_epoch_of_the_active():
    old_epoch_same_zone = PodFact("pbx-a-1", "a", True, False, "node-a", "active", 6)
    current_epoch_other_zone = pod("c", "active", 7)
    pods = (pod("a", "active", 7), old_epoch_same_zone, current_epoch_other_zone)
    steps = converge_plan(POLICY, State("a", 7), world(*pods), 7, NOW)
    assert steps == [
        LabelWrite("pbx-a-1", ((ROLE, "fenced"), (EPOCH, None)), ((FENCED_AT, f"{NOW:.3f}"),)),
        fenced("c"),
    ]


def test_converge_makes_standbys_of_unlabelled_pods_and_of_standbys_with_an_epoch_past_a_deleted_one():
    pods = (pod("a", "active", 2, deleted=True), pod("b"), pod("c", "standby", 1))
    assert converge_plan(POLICY, State("a", 2), world(*pods), 2, NOW) == [
        standby("b"),
        standby("c"),
    ]


def test_a_fenced_pod_becomes_a_standby_once_healthy_for_the_minimum_interval():
    healthy = pod("b", "fenced")
    active = pod("a", "active", 3)

    def plan(fenced_at, target=healthy):
        return converge_plan(POLICY, State("a", 3), world(active, target), 3, NOW, fenced_at)

    back = LabelWrite("pbx-b-0", ((ROLE, "standby"),), ((FENCED_AT, None),))
    assert plan({"pbx-b-0": NOW - 29.9}) == []
    assert plan({"pbx-b-0": NOW - 30.0}) == [back]  # the boundary counts
    assert plan({}) == [back]  # no stamp: fenced long ago
    assert plan({"pbx-b-0": NOW - 3600}, pod("b", "fenced", ready=False)) == []  # still unhealthy


def test_the_service_follows_the_status_epoch_once_there_is_one():
    active = pod("a", "active", 5)
    assert converge_plan(POLICY, State("a", 5), world(active), 4, NOW) == [ServiceWrite(5)]
    assert converge_plan(POLICY, State("a", 5), world(active), None, NOW) == [ServiceWrite(5)]
    assert converge_plan(POLICY, State("a", 5), world(active), 5, NOW) == []
    assert converge_plan(POLICY, State(), world(pod("a", "standby")), None, NOW) == []


def test_a_switchover_request_is_settled_when_done_refused_or_already_there():
    def settled(target, active, action, reason):
        return switchover_settled(State(active, 3, switchover_to=target), Decision(action, reason))

    assert not switchover_settled(State("a", 3), Decision(Action.KEEP, Reason.HEALTHY))
    assert settled("b", "a", Action.PROMOTE, Reason.SWITCHOVER)
    assert settled("x", "a", Action.NONE, Reason.SWITCHOVER_REJECTED)
    assert settled("a", "a", Action.KEEP, Reason.HEALTHY)
    assert not settled("b", "a", Action.KEEP, Reason.HEALTHY)  # still to do
    assert not settled("b", "a", Action.HOLD, Reason.POD_NOT_READY)
    assert not settled("a", "a", Action.HOLD, Reason.POD_NOT_READY)
    assert not settled("b", "a", Action.PROMOTE, Reason.POD_NOT_READY)
