"""Which PBX should be active: the failover decision, as a pure function over plain facts.

The handlers turn watch events (pods, nodes) into the facts below and call :func:`decide`;
nothing here talks to Kubernetes, so every rule is testable (and property-tested) alone.

Rules, in the order they apply:

* The active PBX is healthy when its pod is ready, not being deleted, carries the current
  epoch's ``role=active`` labels, sits on a Ready node, in a zone that is neither declared down
  nor emptied of nodes. A healthy active is kept: there is **no automatic failback** to a
  preferred zone, which is the first guard against ping-pong.
* A *hard* signal (pod deleted, node NotReady/unreachable/gone, zone down, zone removed from
  the spec) promotes at once: a dead PBX serves no call, waiting would only lose calls.
* A *soft* signal (the pod is merely unready on a healthy node) promotes only when
  ``failover.minIntervalSeconds`` have passed since the last promotion (anti-flapping);
  before that the decision is HOLD with the time left.
* Candidates are ready pods on Ready nodes in healthy zones, in ``spec.zone_order``. The zone
  left by the last promotion is not a candidate within the interval (no ping-pong between two
  zones), unless the active is hard-down and it is the only healthy PBX left.
* No candidate: NONE (the status rule turns it into phase Failed, with an Event and a metric).
* A planned switchover (annotation ``samu-platform.io/switchover-to``) moves a healthy active
  to a ready target at once; an impossible target is refused, never half-done.
"""

from dataclasses import dataclass
from enum import StrEnum


class Action(StrEnum):
    KEEP = "Keep"
    PROMOTE = "Promote"
    HOLD = "Hold"
    NONE = "None"


class Reason(StrEnum):
    HEALTHY = "Healthy"
    INITIAL = "InitialElection"
    RESUMED = "Resumed"
    POD_NOT_READY = "PodNotReady"
    POD_DELETED = "PodDeleted"
    NODE_NOT_READY = "NodeNotReady"
    ZONE_DOWN = "ZoneDown"
    ZONE_REMOVED = "ZoneRemoved"
    SWITCHOVER = "Switchover"
    SWITCHOVER_REJECTED = "SwitchoverRejected"
    FLAP_GUARD = "FlapGuard"
    NO_STANDBY = "NoStandby"
    WAITING = "WaitingForPods"


HARD_REASONS = frozenset(
    {Reason.POD_DELETED, Reason.NODE_NOT_READY, Reason.ZONE_DOWN, Reason.ZONE_REMOVED}
)


@dataclass(frozen=True)
class PodFact:
    """One PBX pod as the operator last saw it (role/epoch are its fencing labels)."""

    name: str
    zone: str
    ready: bool
    deleted: bool = False
    node: str | None = None
    role: str | None = None
    epoch: int | None = None


@dataclass(frozen=True)
class NodeFact:
    """``ready`` is False on condition Ready False/Unknown or an unreachable/not-ready taint."""

    name: str
    zone: str
    ready: bool


@dataclass(frozen=True)
class World:
    pods: tuple[PodFact, ...] = ()
    nodes: tuple[NodeFact, ...] = ()
    zones_down: frozenset[str] = frozenset()  # declared down by hand (maintenance)


@dataclass(frozen=True)
class Policy:
    zone_order: tuple[str, ...]
    min_interval: float = 30.0

    @classmethod
    def from_spec(cls, spec: object) -> "Policy":
        """From a SamuTenantSpec (duck-typed so that the core needs no model import cycle)."""
        return cls(
            zone_order=tuple(spec.zone_order),  # type: ignore[attr-defined]
            min_interval=float(spec.failover.min_interval_seconds),  # type: ignore[attr-defined]
        )


@dataclass(frozen=True)
class State:
    """What the tenant's status says (plus the switchover request, if any)."""

    active_zone: str | None = None
    epoch: int = 0
    last_promotion_at: float | None = None
    last_from_zone: str | None = None
    switchover_to: str | None = None
    created_at: float | None = None  # the tenant's creation: bounds the initial-election wait


#: A new tenant waits this long for the PBX of its first healthy zone before electing another
#: one: its pods start one after the other, and electing whichever is ready first would pile
#: every tenant's active into the zone whose pods happen to start first.
INITIAL_GRACE_SECONDS = 20.0


@dataclass(frozen=True)
class Decision:
    action: Action
    reason: Reason
    to_zone: str | None = None
    to_pod: str | None = None
    from_zone: str | None = None
    retry_after: float | None = None
    message: str = ""

    @property
    def planned(self) -> bool:
        return self.reason == Reason.SWITCHOVER

    @property
    def moves(self) -> bool:
        """A promotion into another zone (what failover metrics and lastFailover count)."""
        return self.action == Action.PROMOTE and self.to_zone != self.from_zone


def zone_health(world: World, zone: str) -> Reason | None:
    """None when the zone can host an active PBX, else why not."""
    if zone in world.zones_down:
        return Reason.ZONE_DOWN
    nodes = [n for n in world.nodes if n.zone == zone]
    if not any(n.ready for n in nodes):
        return Reason.ZONE_DOWN  # every node gone or not ready: the zone is lost
    return None


def pod_health(world: World, pod: PodFact) -> Reason | None:
    """None when the pod could serve calls, else the most serious reason it cannot."""
    zone_problem = zone_health(world, pod.zone)
    if zone_problem:
        return zone_problem
    if pod.node is not None:
        node = next((n for n in world.nodes if n.name == pod.node), None)
        if node is None or not node.ready:
            return Reason.NODE_NOT_READY
    if pod.deleted:
        return Reason.POD_DELETED
    if not pod.ready:
        return Reason.POD_NOT_READY
    return None


def zone_pod(world: World, zone: str) -> PodFact | None:
    """The PBX pod of a zone; a live one wins over one being deleted."""
    pods = [p for p in world.pods if p.zone == zone]
    pods.sort(key=lambda p: p.deleted)
    return pods[0] if pods else None


def decide(policy: Policy, state: State, world: World, now: float) -> Decision:
    """Keep, promote, hold or give up; see the module docstring for the rules."""
    unhealthy = tuple(z for z in policy.zone_order if zone_health(world, z))
    active = zone_pod(world, state.active_zone) if state.active_zone else None
    problem = _active_problem(policy, state, world, active)
    if problem is None:
        return _switchover(policy, state, world, unhealthy)
    if state.active_zone is None:
        reason = Reason.INITIAL
    elif problem == Reason.POD_DELETED and active is not None and not active.deleted:
        reason = Reason.RESUMED  # the zone's pod is alive but not labelled: re-elect it first
    else:
        reason = problem
    hard = reason in HARD_REASONS or reason in (Reason.INITIAL, Reason.RESUMED)
    since = None if state.last_promotion_at is None else now - state.last_promotion_at
    in_interval = since is not None and since < policy.min_interval
    if not hard and in_interval:
        left = policy.min_interval - (since or 0.0)
        return Decision(
            Action.HOLD,
            Reason.FLAP_GUARD,
            from_zone=state.active_zone,
            retry_after=left,
            message=f"active PBX in zone {state.active_zone} is not ready; last promotion "
            f"{since:.1f}s ago, waiting {left:.1f}s more (failover.minIntervalSeconds)",
        )
    candidates = _candidates(policy, state, world, in_interval)
    if reason == Reason.INITIAL and candidates and _still_starting(policy, state, world, now):
        candidates = []
    if not candidates:
        waiting = state.active_zone is None and not unhealthy
        return Decision(
            Action.NONE,
            Reason.WAITING if waiting else Reason.NO_STANDBY,
            from_zone=state.active_zone,
            message=(
                "no PBX is ready yet"
                if waiting
                else f"active PBX lost ({reason}) and no ready PBX in a healthy zone to promote"
            ),
        )
    pod = candidates[0]
    return Decision(
        Action.PROMOTE,
        reason,
        to_zone=pod.zone,
        to_pod=pod.name,
        from_zone=state.active_zone,
        message=f"promote {pod.name} in zone {pod.zone} ({reason})",
    )


def _active_problem(
    policy: Policy, state: State, world: World, active: PodFact | None
) -> Reason | None:
    if state.active_zone is None:
        return Reason.INITIAL
    if state.active_zone not in policy.zone_order:
        return Reason.ZONE_REMOVED
    zone_problem = zone_health(world, state.active_zone)
    if zone_problem:
        return zone_problem
    if active is None:
        return Reason.POD_DELETED
    problem = pod_health(world, active)
    if problem:
        return problem
    if active.role != "active" or active.epoch != state.epoch:
        return Reason.POD_DELETED  # recreated pod, or a promotion cut short: not our active
    return None


def _candidates(policy: Policy, state: State, world: World, in_interval: bool) -> list[PodFact]:
    """Healthy pods by preference: the active zone's own pod first (resume), then zone order."""
    healthy = [
        p
        for z in policy.zone_order
        if (p := zone_pod(world, z)) is not None and pod_health(world, p) is None
    ]
    healthy.sort(key=lambda p: p.zone != state.active_zone)
    if in_interval and state.last_from_zone is not None:
        others = [p for p in healthy if p.zone != state.last_from_zone]
        if others:
            return others
    return healthy


def _still_starting(policy: Policy, state: State, world: World, now: float) -> bool:
    """True while a new tenant's preferred PBX (first healthy zone) may still become ready."""
    if state.created_at is None or now - state.created_at >= INITIAL_GRACE_SECONDS:
        return False
    first = next((z for z in policy.zone_order if zone_health(world, z) is None), None)
    pod = zone_pod(world, first) if first else None
    return first is not None and (pod is None or pod_health(world, pod) is not None)


def _switchover(policy: Policy, state: State, world: World, unhealthy: tuple[str, ...]) -> Decision:
    target = state.switchover_to
    if target is None or target == state.active_zone:
        return Decision(Action.KEEP, Reason.HEALTHY, from_zone=state.active_zone)
    if target not in policy.zone_order:
        why = f"zone {target!r} has no PBX: use one of {list(policy.zone_order)}"
    else:
        pod = zone_pod(world, target)
        problem = pod_health(world, pod) if pod else Reason.POD_DELETED
        if problem is None and pod is not None:
            return Decision(
                Action.PROMOTE,
                Reason.SWITCHOVER,
                to_zone=target,
                to_pod=pod.name,
                from_zone=state.active_zone,
                message=f"planned switchover from zone {state.active_zone} to {target}",
            )
        why = f"the PBX in zone {target} cannot take calls ({problem})"
    return Decision(
        Action.KEEP,
        Reason.SWITCHOVER_REJECTED,
        from_zone=state.active_zone,
        message=f"switchover to {target!r} refused, active stays in {state.active_zone}: {why}",
    )
