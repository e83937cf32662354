"""Phase, conditions and PBX list of a tenant's status, from plain facts. Pure.

Rules (in this order):

1. The spec cannot work (``problem`` set: unknown zone, missing partner, apply error) ->
   ``Failed``; Reconciled=False and Ready=False with the problem's reason.
   The failover part found no PBX to promote (``failover_problem``) -> ``Failed``;
   Ready=False with its reason (NoStandby), Reconciled stays True (the objects are fine).
2. A failover is under way (``failing_over``) -> ``FailingOver``; Ready=False.
3. An active PBX exists in status (``active_zone`` set, i.e. the failover part elected one):
   Ready needs that active PBX ready; then every PBX ready -> ``Ready``, some standby not
   ready -> ``Degraded`` (reason StandbyNotReady). The active PBX not ready -> ``Degraded``
   (reason ActiveNotReady) until the failover part acts.
4. No active elected yet: every PBX ready -> ``Ready`` (reason AllPbxReady), some ready ->
   ``Degraded``, none -> ``Pending`` (reason PbxStarting).

The failover part extends this by passing its own facts (``failing_over``, ``active_zone``),
never by writing phase/conditions itself, so both parts agree on one rule.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from samu_operator.model.tenant import PbxRole, Phase

#: Condition types written here; others (the failover part's) are kept as they are.
OWN_CONDITIONS = ("Ready", "Reconciled")


@dataclass(frozen=True)
class Problem:
    """Why a tenant cannot be reconciled: a CamelCase reason and a message with the fix."""

    reason: str
    message: str


@dataclass(frozen=True)
class ZoneFact:
    zone: str
    pod: str | None = None
    ready: bool = False


@dataclass(frozen=True)
class StatusFacts:
    zones: Sequence[ZoneFact] = ()
    problem: Problem | None = None
    active_zone: str | None = None
    failing_over: bool = False
    #: The generation just reconciled; None when the write only refreshes readiness.
    generation: int | None = None
    #: Roles already known (pod labels, else status; set by the failover part): kept.
    roles: Mapping[str, str] = field(default_factory=dict)
    #: The failover part found no PBX to promote (active lost, no ready standby): Failed.
    failover_problem: Problem | None = None


@dataclass(frozen=True)
class StatusOutcome:
    phase: Phase
    ready: tuple[str, str, str]  # status, reason, message
    reconciled: tuple[str, str, str]
    message: str


def outcome(facts: StatusFacts) -> StatusOutcome:
    """The phase and the Ready/Reconciled conditions of one tenant (rules in the docstring)."""
    if facts.problem is not None:
        p = facts.problem
        return StatusOutcome(
            Phase.FAILED, ("False", p.reason, p.message), ("False", p.reason, p.message), p.message
        )
    applied = ("True", "Applied", "every object of the tenant matches its spec")
    if facts.failover_problem is not None:
        p = facts.failover_problem  # the objects are fine; no PBX can take the calls
        return StatusOutcome(Phase.FAILED, ("False", p.reason, p.message), applied, p.message)
    ready = [z.zone for z in facts.zones if z.ready]
    not_ready = [z.zone for z in facts.zones if not z.ready]
    total = len(facts.zones)
    summary = f"{len(ready)}/{total} PBX ready" + (
        f" (not ready: {', '.join(not_ready)})" if not_ready else ""
    )
    if facts.failing_over:
        msg = f"failing over from zone {facts.active_zone}; {summary}"
        return StatusOutcome(Phase.FAILING_OVER, ("False", "FailingOver", msg), applied, msg)
    if facts.active_zone is not None:
        if facts.active_zone not in ready:
            msg = f"active PBX in zone {facts.active_zone} is not ready; {summary}"
            return StatusOutcome(Phase.DEGRADED, ("False", "ActiveNotReady", msg), applied, msg)
        if not_ready:
            msg = f"active PBX in zone {facts.active_zone}; {summary}"
            return StatusOutcome(Phase.DEGRADED, ("True", "StandbyNotReady", msg), applied, msg)
        msg = f"active PBX in zone {facts.active_zone}; {summary}"
        return StatusOutcome(Phase.READY, ("True", "ActiveAndStandbysReady", msg), applied, msg)
    if total and not not_ready:
        return StatusOutcome(Phase.READY, ("True", "AllPbxReady", summary), applied, summary)
    if ready:
        return StatusOutcome(Phase.DEGRADED, ("False", "PbxNotReady", summary), applied, summary)
    return StatusOutcome(Phase.PENDING, ("False", "PbxStarting", summary), applied, summary)


def _condition(
    kind: str, value: tuple[str, str, str], previous: Sequence[Mapping[str, Any]], now: str
) -> dict[str, Any]:
    status, reason, message = value
    old = next((c for c in previous if c.get("type") == kind), None)
    since = old.get("lastTransitionTime") if old and old.get("status") == status else None
    return {
        "type": kind,
        "status": status,
        "reason": reason,
        "message": message,
        "lastTransitionTime": since or now,
    }


def status_patch(
    facts: StatusFacts, previous_conditions: Sequence[Mapping[str, Any]], now: str
) -> dict[str, Any]:
    """The onboarding part's fields of ``status`` (a merge patch: activeZone, epoch,
    lastFailover belong to the failover part and are never written here). observedGeneration
    is written only by a reconciliation (``facts.generation`` set).

    A condition keeps its lastTransitionTime while its status does not change.
    """
    result = outcome(facts)
    pbx = [
        {
            "zone": z.zone,
            "pod": z.pod,
            "ready": z.ready,
            "role": facts.roles.get(z.zone, PbxRole.STANDBY.value),
        }
        for z in facts.zones
    ]
    patch = {
        "phase": result.phase.value,
        "message": result.message,
        "pbx": pbx,
        "conditions": [
            _condition("Ready", result.ready, previous_conditions, now),
            _condition("Reconciled", result.reconciled, previous_conditions, now),
            *[c for c in previous_conditions if c.get("type") not in OWN_CONDITIONS],
        ],
    }
    if facts.generation is not None:
        patch["observedGeneration"] = facts.generation
    return patch


def same_status(patch: Mapping[str, Any], current: Mapping[str, Any]) -> bool:
    """True when writing ``patch`` would change nothing (so a periodic re-check stays cheap)."""
    return all(current.get(key) == value for key, value in patch.items())
