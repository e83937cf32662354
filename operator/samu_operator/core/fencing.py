"""Fencing and promotion as an ordered list of writes (pure: the handlers execute them).

The active Service selects ``tenant + role=active + epoch=<status.epoch>``. The epoch is the
fencing token: it bumps on every promotion, so a pod that still carries an older epoch (a
partitioned zone coming back, a promotion cut short by an operator crash) is never selected
again, whatever its ``role`` label says.

Order of a promotion (each step is idempotent, so a restarted operator simply re-plans):

1. **Fence** every other pod labelled ``role=active``: ``role=fenced``, epoch label removed.
   From here no pod matches the old selector. For a planned switchover this is the *drain*:
   new calls stop reaching the old PBX (the edge tries the standbys, listed after the active,
   so a call arriving in this gap is still answered), while calls already established on it
   keep flowing, because in-dialog SIP requests follow their Route headers, not the Service
   or the dispatcher set. The operator never deletes the old PBX: it is left to finish them.
2. **Status**: ``epoch = n + 1`` and ``activeZone`` (with ``lastFailover``). This is the commit
   point; a restart after it resumes the promotion with yet another epoch.
3. **Activate** the target: ``role=active``, ``epoch=n+1``. The Service still selects epoch n,
   which no pod carries any more, so nothing is selected twice.
4. **Service** selector moves to epoch n+1: exactly the new active matches.

Hence at every moment at most one pod matches the Service's selector; the property test in
tests/failover checks this after every single write of random event sequences.
"""

from dataclasses import dataclass

from samu_operator.core.failover import (
    Action,
    Decision,
    PodFact,
    Policy,
    Reason,
    State,
    World,
    pod_health,
)

ROLE_LABEL = "samu-platform.io/role"
EPOCH_LABEL = "samu-platform.io/epoch"
FENCED_AT_ANNOTATION = "samu-platform.io/fenced-at"
SWITCHOVER_ANNOTATION = "samu-platform.io/switchover-to"
ACTIVE, STANDBY, FENCED = "active", "standby", "fenced"


@dataclass(frozen=True)
class LabelWrite:
    """Merge-patch of a pod's labels (None deletes a label) and annotations."""

    pod: str
    labels: tuple[tuple[str, str | None], ...]
    annotations: tuple[tuple[str, str | None], ...] = ()


@dataclass(frozen=True)
class StatusWrite:
    active_zone: str
    epoch: int


@dataclass(frozen=True)
class ServiceWrite:
    epoch: int


Step = LabelWrite | StatusWrite | ServiceWrite


def _fence(pod: PodFact, now: float) -> LabelWrite:
    return LabelWrite(
        pod.name,
        ((ROLE_LABEL, FENCED), (EPOCH_LABEL, None)),
        ((FENCED_AT_ANNOTATION, f"{now:.3f}"),),
    )


def promotion_plan(state: State, world: World, decision: Decision, now: float) -> list[Step]:
    """Fence, commit the epoch, activate, move the Service: in that order."""
    assert decision.to_pod is not None and decision.to_zone is not None
    epoch = state.epoch + 1
    steps: list[Step] = [
        _fence(p, now)
        for p in world.pods
        if p.name != decision.to_pod and (p.role == ACTIVE or p.epoch is not None)
    ]
    steps.append(StatusWrite(decision.to_zone, epoch))
    steps.append(
        LabelWrite(
            decision.to_pod,
            ((ROLE_LABEL, ACTIVE), (EPOCH_LABEL, str(epoch))),
            ((FENCED_AT_ANNOTATION, None),),
        )
    )
    steps.append(ServiceWrite(epoch))
    return steps


def converge_plan(
    policy: Policy,
    state: State,
    world: World,
    service_epoch: int | None,
    now: float,
    fenced_at: dict[str, float] | None = None,
) -> list[Step]:
    """Writes that bring labels and the Service in line with the status, outside promotions.

    Stale actives (wrong epoch or wrong zone) are fenced first; pods without a role become
    standbys; a fenced pod becomes a standby again once healthy for ``minIntervalSeconds``
    (a PBX that just failed is not trusted at once); the Service follows the status epoch.
    """
    fenced_at = fenced_at or {}
    steps: list[Step] = []
    for pod in world.pods:
        if pod.deleted:
            continue
        is_active = pod.zone == state.active_zone and pod.epoch == state.epoch and state.epoch
        if pod.role == ACTIVE and not is_active:
            steps.append(_fence(pod, now))
        elif pod.role is None or (pod.role != ACTIVE and pod.epoch is not None):
            steps.append(LabelWrite(pod.name, ((ROLE_LABEL, STANDBY), (EPOCH_LABEL, None))))
        elif pod.role == FENCED and pod_health(world, pod) is None:
            since = now - fenced_at.get(pod.name, float("-inf"))  # no stamp: long fenced
            if since >= policy.min_interval:
                steps.append(
                    LabelWrite(
                        pod.name,
                        ((ROLE_LABEL, STANDBY),),
                        ((FENCED_AT_ANNOTATION, None),),
                    )
                )
    if state.epoch and service_epoch != state.epoch:
        steps.append(ServiceWrite(state.epoch))
    return steps


def switchover_settled(state: State, decision: Decision) -> bool:
    """True when the switchover request can be removed: done, refused, or already there.

    Removing it matters: a request left behind would pull the active back to that zone
    after a later failover, the very ping-pong anti-flapping forbids.
    """
    if state.switchover_to is None:
        return False
    return decision.reason in (
        Reason.SWITCHOVER,
        Reason.SWITCHOVER_REJECTED,
    ) or (decision.action == Action.KEEP and state.switchover_to == state.active_zone)
