"""The failover decision at the edges of its rules (boundaries, defaults, what it says), and
its vocabulary as the documentation gives it to the people who read Events and status."""

import re

from samu_operator.core.failover import (
    INITIAL_GRACE_SECONDS,
    Action,
    Decision,
    NodeFact,
    PodFact,
    Policy,
    Reason,
    State,
    World,
    decide,
    pod_health,
    zone_pod,
)
from samu_operator.core.fencing import LabelWrite, StatusWrite, converge_plan, promotion_plan
from samu_operator.model.tenant import FailoverSpec, SamuTenant
from tests.conftest import REPO, load_samu30

NOW = 10_000.0
POLICY = Policy(("a", "b", "c"), min_interval=30.0)
NODES = tuple(NodeFact(f"node-{z}", z, True) for z in "abc")
ROLE, EPOCH = "samu-platform.io/role", "samu-platform.io/epoch"
FAILOVER_DOC = (REPO / "docs" / "failover.md").read_text(encoding="utf-8")
#: How long a new tenant waits for the PBX of its first healthy zone, as documented.
GRACE_DOCUMENTED = float(re.search(r"waits for up to (\d+) s", FAILOVER_DOC).group(1))


def pod(zone, ready=True, role=None, epoch=None, deleted=False, name=None):
    return PodFact(name or f"pbx-{zone}-0", zone, ready, deleted, f"node-{zone}", role, epoch)


def active_in(zone, epoch=3, **kw):
    return pod(zone, role="active", epoch=epoch, **kw)


def test_every_reason_is_documented_for_the_people_who_read_events_and_status():
    section = FAILOVER_DOC.split("## Reasons", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Za-z]+)` \|", section, re.MULTILINE))
    assert documented == {r.value for r in Reason}


def test_the_policy_of_a_tenant_comes_from_its_spec_and_the_default_interval_is_the_crds():
    spec = SamuTenant.model_validate(load_samu30()).spec
    policy = Policy.from_spec(spec)
    assert policy.zone_order == tuple(spec.zone_order)
    assert policy.min_interval == spec.failover.min_interval_seconds
    assert Policy(("a", "b")).min_interval == FailoverSpec().min_interval_seconds


def test_facts_built_with_their_defaults_mean_nothing_is_known_against_the_pod():
    bare = PodFact("pbx-a-0", "a", True)  # no node known, no labels, not being deleted
    assert pod_health(World((bare,), NODES), bare) is None
    # Unlabelled: it becomes a standby, and a promotion elsewhere has nothing to fence on it.
    standby = LabelWrite("pbx-a-0", ((ROLE, "standby"), (EPOCH, None)))
    assert converge_plan(POLICY, State("b", 2), World((bare,), NODES), 2, NOW) == [standby]
    move = Decision(Action.PROMOTE, Reason.POD_DELETED, "b", "pbx-b-0", "c")
    assert promotion_plan(State("c", 2), World((bare, pod("b")), NODES), move, NOW)[0] == (
        StatusWrite("b", 3)
    )
    assert decide(POLICY, State(), World(nodes=NODES), NOW).reason == Reason.WAITING
    assert decide(POLICY, State(), World((bare,)), NOW).reason == Reason.NO_STANDBY  # no node
    state = State()  # a new tenant: epoch 0, so the first promotion commits epoch 1
    decision = decide(POLICY, state, World((bare,), NODES), NOW)
    assert StatusWrite("a", 1) in promotion_plan(state, World((bare,), NODES), decision, NOW)


def test_a_zones_live_pod_wins_over_one_being_deleted_whatever_their_order():
    going, live = pod("a", deleted=True, name="pbx-a-0"), PodFact("pbx-a-0-new", "a", True)
    assert zone_pod(World((going, live), NODES), "a") == live
    assert zone_pod(World((live, going), NODES), "a") == live


def test_a_promotion_into_another_zone_moves_a_resumed_one_does_not():
    assert Decision(Action.PROMOTE, Reason.SWITCHOVER, "b", "pbx-b-0", "a").planned
    assert not Decision(Action.PROMOTE, Reason.POD_DELETED, "b", "pbx-b-0", "a").planned
    assert Decision(Action.PROMOTE, Reason.POD_DELETED, "b", "pbx-b-0", "a").moves
    assert not Decision(Action.PROMOTE, Reason.RESUMED, "a", "pbx-a-0", "a").moves
    assert not Decision(Action.KEEP, Reason.HEALTHY, from_zone="a").moves
    assert not Decision(Action.HOLD, Reason.FLAP_GUARD, from_zone="a").moves


def test_the_flap_guard_holds_strictly_inside_the_interval_and_says_how_long():
    unready = World((active_in("a", ready=False), pod("b"), pod("c")), NODES)
    just_moved = State("a", 3, last_promotion_at=NOW, last_from_zone="c")
    held = decide(POLICY, just_moved, unready, NOW)
    assert (held.action, held.reason, held.retry_after) == (Action.HOLD, Reason.FLAP_GUARD, 30.0)
    assert held.message == (
        "active PBX in zone a is not ready; last promotion 0.0s ago, "
        "waiting 30.0s more (failover.minIntervalSeconds)"
    )
    at_the_boundary = State("a", 3, last_promotion_at=NOW - 30.0, last_from_zone="c")
    assert decide(POLICY, at_the_boundary, unready, NOW).action == Action.PROMOTE


def test_a_new_tenant_waits_for_its_first_zone_only_during_the_grace():
    assert INITIAL_GRACE_SECONDS == GRACE_DOCUMENTED
    b_only = World((pod("a", ready=False), pod("b"), pod("c")), NODES)
    starting = State(created_at=NOW - GRACE_DOCUMENTED + 0.1)
    assert decide(POLICY, starting, b_only, NOW).reason == Reason.WAITING
    late = State(created_at=NOW - GRACE_DOCUMENTED)
    assert decide(POLICY, late, b_only, NOW).to_zone == "b"
    a_ready = World((pod("a"), pod("b")), NODES)
    assert decide(POLICY, starting, a_ready, NOW).to_zone == "a"  # no wait once it is there
    a_missing = World((pod("b"),), NODES)
    assert decide(POLICY, starting, a_missing, NOW).reason == Reason.WAITING


def test_a_lost_zone_is_the_reason_even_when_its_pod_is_gone_too():
    nodes = tuple(NodeFact(f"node-{z}", z, z != "a") for z in "abc")
    decision = decide(POLICY, State("a", 3), World((pod("b"), pod("c")), nodes), NOW)
    assert (decision.action, decision.reason, decision.to_zone) == (
        Action.PROMOTE,
        Reason.ZONE_DOWN,
        "b",
    )
    assert decision.message == "promote pbx-b-0 in zone b (ZoneDown)"


def test_no_pbx_left_is_told_apart_from_a_tenant_whose_pods_are_starting():
    nodes = tuple(NodeFact(f"node-{z}", z, z != "a") for z in "abc")
    lost = decide(POLICY, State("a", 3), World((pod("b", False), pod("c", False)), nodes), NOW)
    assert (lost.action, lost.reason) == (Action.NONE, Reason.NO_STANDBY)
    assert (
        lost.message == "active PBX lost (ZoneDown) and no ready PBX in a healthy zone to promote"
    )
    down = decide(POLICY, State(), World((pod("b", False),), nodes), NOW)
    assert down.reason == Reason.NO_STANDBY  # a zone is down: not merely starting
    starting = decide(POLICY, State(), World((pod("b", False),), NODES), NOW)
    assert (starting.reason, starting.message) == (Reason.WAITING, "no PBX is ready yet")


def test_a_switchover_says_where_it_goes_or_why_it_is_refused():
    world = World((active_in("a"), pod("b"), pod("c", ready=False)), NODES)

    def switch(target):
        return decide(POLICY, State("a", 3, switchover_to=target), world, NOW)

    done = switch("b")
    assert (done.action, done.reason, done.to_zone) == (Action.PROMOTE, Reason.SWITCHOVER, "b")
    assert done.message == "planned switchover from zone a to b"
    unknown = switch("x")
    assert (unknown.action, unknown.reason) == (Action.KEEP, Reason.SWITCHOVER_REJECTED)
    assert unknown.message == (
        "switchover to 'x' refused, active stays in a: "
        "zone 'x' has no PBX: use one of ['a', 'b', 'c']"
    )
    unready = switch("c")
    assert unready.message == (
        "switchover to 'c' refused, active stays in a: "
        "the PBX in zone c cannot take calls (PodNotReady)"
    )
