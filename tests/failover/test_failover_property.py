"""Property test of decision + fencing over random event sequences (10,000 cases; fewer
with ``SAMU_PROPERTY_EXAMPLES``, e.g. for a mutation-testing run).

After every single write: never two pods selected by the active Service, never two pods
carrying the current epoch as active. Per promotion: the epoch strictly increases, the target
is healthy, anti-flapping holds. After a full reconcile: a lost active is replaced whenever
a healthy PBX exists and the rules allow it (so a do-nothing operator fails too), and a
healthy active is the one pod the Service selects (so a Service left on an old epoch fails).
"""

import os

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samu_operator.core.failover import Action, Reason
from tests.failover.sim import EPOCH_LABEL, ROLE_LABEL, Sim

EXAMPLES = int(os.environ.get("SAMU_PROPERTY_EXAMPLES", "10000"))

ZONES = ("a", "b", "c")
# Every possible event, listed once: drawing an index into this table keeps Hypothesis's
# generation cheap (10,000 cases in seconds) while shrinking still works on plain integers.
EVENTS: tuple[tuple, ...] = (
    *[("ready", z, b) for z in ZONES for b in (True, False)],
    *[("delete", z) for z in ZONES],
    *[("node", z, b) for z in ZONES for b in (True, False)],
    *[("maint", z, b) for z in ZONES for b in (True, False)],
    *[("tick", dt) for dt in (0.5, 5.0, 40.0)],
    *[("switch", z) for z in (*ZONES, "x")],
    *[("stale", z, k) for z in ZONES for k in range(3)],
    *[("crash", k) for k in range(4)],
)


def play(sim: Sim, ev: tuple) -> int | None:
    """Apply one event to the world; return a crash point for the next reconcile, if any."""
    kind = ev[0]
    if kind == "ready" and ev[1] in sim.pods:
        sim.pods[ev[1]].ready = ev[2]
    elif kind == "delete":
        sim.recreate(ev[1])  # deleted and recreated by its StatefulSet: fresh labels, unready
    elif kind == "node":
        sim.node_up[ev[1]] = ev[2]
    elif kind == "maint":
        (sim.maintenance.add if ev[2] else sim.maintenance.discard)(ev[1])
    elif kind == "tick":
        sim.now += ev[1]
    elif kind == "switch":
        sim.switchover_to = ev[1]
    elif kind == "stale" and ev[1] in sim.pods:
        # A partitioned zone comes back with the labels it had before the failover.
        old = max(sim.epoch - 1 - ev[2], 0)
        sim.pods[ev[1]].labels.update({ROLE_LABEL: "active", EPOCH_LABEL: str(old)})
        sim.check()
    elif kind == "crash":
        return ev[1]
    return None


def active_ok(sim: Sim) -> bool:
    zone_ = sim.active_zone
    if zone_ is None or not sim.healthy(zone_):
        return False
    labels = sim.pods[zone_].labels
    return labels.get(ROLE_LABEL) == "active" and labels.get(EPOCH_LABEL) == str(sim.epoch)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    event_ids=st.lists(st.integers(0, len(EVENTS) - 1), max_size=16),
    min_interval=st.sampled_from((0.0, 30.0)),
    two_zones=st.booleans(),
)
def test_random_event_sequences_keep_the_invariants(event_ids, min_interval, two_zones):
    sim = Sim(ZONES[:2] if two_zones else ZONES, min_interval)
    for z in sim.zones:
        sim.pods[z].ready = True
    sim.reconcile()
    assert active_ok(sim), "initial election must pick a ready PBX"
    armed: int | None = None  # a crash waits for the next reconcile that promotes
    for ev in (EVENTS[i] for i in event_ids):
        if ev[0] in ("ready", "node", "maint", "stale", "delete") and ev[1] not in sim.zones:
            continue
        crash = play(sim, ev)
        armed = crash if crash is not None else armed
        before = len(sim.promotions)
        was_ok = active_ok(sim)
        pending_switch = sim.switchover_to
        active_before = sim.active_zone
        decision = sim.reconcile(crash_after=armed)
        if sim.crashed:
            armed = None  # the operator died mid-promotion; the next reconcile resumes
            continue
        if was_ok and pending_switch in (None, active_before):
            assert len(sim.promotions) == before, "a healthy active must be kept"
        healthy_any = any(sim.healthy(z) for z in sim.zones)
        if active_ok(sim):
            active_pod = sim.pods[sim.active_zone].name
            assert sim.selected() == [active_pod], f"the Service selects {sim.selected()}"
        if not active_ok(sim):
            assert decision.action in (Action.HOLD, Action.NONE) or not healthy_any, decision
            if decision.action == Action.NONE:
                assert not healthy_any or decision.reason == Reason.WAITING, decision
    epochs = [p.epoch_after for p in sim.promotions]
    assert epochs == sorted(set(epochs)), "epoch must strictly increase"
    last_move: tuple[float, str | None] | None = None
    for p in sim.promotions:
        if p.from_zone is not None and p.to_zone != p.from_zone:
            # A planned switchover is a person's explicit order: exempt from the flap guard.
            if (
                last_move is not None
                and p.reason != Reason.SWITCHOVER
                and p.at - last_move[0] < min_interval
            ):
                assert p.hard_signal, f"soft-signal promotion inside the interval: {p}"
                if p.to_zone == last_move[1]:
                    assert not p.healthy_others, f"ping-pong while others were healthy: {p}"
            last_move = (p.at, p.from_zone)
    assert sim.max_selected <= 1
