"""Preflight checks of a SAMU before its flip, each with a clear verdict (pure).

Every check says where its answer comes from:

- ``api``: the SamuTenant as the Kubernetes API has it (phase, observed generation, PBX
  roles and readiness, the partner, the secours numbers);
- ``edge``: what Kamailio sees (its probes of the PBX and of the old platform's trunks,
  through ``dispatcher.list`` over its JSON-RPC port): answered when the edge's RPC URL is
  given (``samuctl bascule --edge-rpc``), else "cannot check";
- checks nothing can answer yet: positions registered (the edge's registrar is the next
  step of the edge), recordings shipping (nothing collects the shipper's metrics yet), a test
  call answered by the SAMU's PBX (the call lab comes with the edge's next step).

"cannot check" fails closed: the SAMU is not flipped unless a person waives that check by
name (``--accept-unchecked``); a failed check can never be waived.
"""

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from samu_operator.core.routing import LEGACY_FIRST, TenantRoute


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    CANNOT = "cannot check"
    WAIVED = "waived"


@dataclass(frozen=True)
class CheckResult:
    check: str
    verdict: Verdict
    detail: str
    source: str

    @property
    def blocks(self) -> bool:
        return self.verdict in (Verdict.FAIL, Verdict.CANNOT)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "verdict": self.verdict.value}

    def line(self) -> str:
        return f"{self.check}: {self.verdict.value} ({self.detail})"


#: The checks of each direction, in the order they run, and where each answer comes from.
RUN_CHECKS: tuple[tuple[str, str], ...] = (
    ("tenant-ready", "api"),
    ("standby-ready", "api"),
    ("partner-ready", "api"),
    ("secours-named", "api"),
    ("pbx-probed-up", "edge"),
    ("positions-registered", "edge"),
    ("recordings-shipping", "shipper"),
    ("test-call", "edge"),
)
ROLLBACK_CHECKS: tuple[tuple[str, str], ...] = (("old-platform-probed-up", "edge"),)
CHECKS = {"run": RUN_CHECKS, "rollback": ROLLBACK_CHECKS}
#: Why the checks nothing answers yet cannot be answered (the verdict's detail).
NOT_YET = {
    "positions-registered": "needs the edge's registrar, not built yet: no position can "
    "register at the edge to be counted",
    "recordings-shipping": "needs the recording shipper's metrics (port 9102), which "
    "nothing collects yet",
    "test-call": "needs a test call through the edge to each number, which comes with the "
    "edge's call lab",
}


@dataclass(frozen=True)
class EdgeLine:
    uri: str
    #: ``AP`` active and probed, ``IP`` inactive, ``DX`` disabled... (``dispatcher.list``)
    flags: str
    #: the line's attributes as the operator wrote them (``duid=...;role=legacy``)
    attrs: str


@dataclass(frozen=True)
class EdgeView:
    """What one edge's probes say: dispatcher set id -> its lines, from ``dispatcher.list``.
    The edge's own addresses are used, never ones samuctl would render."""

    sets: Mapping[int, Sequence[EdgeLine]]
    source: str


def preflight(
    direction: str,
    tenant: Mapping[str, Any],
    tenants: Sequence[Mapping[str, Any]],
    route: TenantRoute,
    edges: Sequence[EdgeView] = (),
    waived: frozenset[str] = frozenset(),
) -> list[CheckResult]:
    """Every check of ``direction`` for one SAMU, in order (none stops the others: the
    report shows them all). ``route`` is the SAMU's route as the edge has it now."""
    results = []
    for check, source in CHECKS[direction]:
        verdict, detail = _judge(check, tenant, tenants, route, edges)
        if verdict == Verdict.CANNOT and check in waived:
            verdict, detail = Verdict.WAIVED, f"waived by --accept-unchecked: {detail}"
        results.append(CheckResult(check, verdict, detail, source))
    return results


def settled(tenant: Mapping[str, Any]) -> bool:
    """The operator's status of a tenant has settled: Ready at its current generation, with
    a standby ready in another zone (its PBX roles converge a moment after the phase)."""
    return _ready(tenant)[0] == Verdict.PASS and _standby(tenant)[0] == Verdict.PASS


def first_block(results: Sequence[CheckResult]) -> CheckResult | None:
    return next((r for r in results if r.blocks), None)


def _judge(
    check: str,
    tenant: Mapping[str, Any],
    tenants: Sequence[Mapping[str, Any]],
    route: TenantRoute,
    edges: Sequence[EdgeView],
) -> tuple[Verdict, str]:
    if check in NOT_YET:
        return Verdict.CANNOT, NOT_YET[check]
    if check == "tenant-ready":
        return _ready(tenant)
    if check == "standby-ready":
        return _standby(tenant)
    if check == "partner-ready":
        return _partner(tenant, tenants)
    if check == "secours-named":
        secours = ((tenant.get("spec") or {}).get("routing") or {}).get("secours") or []
        if secours:
            return Verdict.PASS, f"{len(secours)} secours number(s)"
        return Verdict.FAIL, "no spec.routing.secours: name the centre's backup lines"
    if check == "pbx-probed-up":
        return _probed(edges, route.set_id, "", "PBX")
    if check == "old-platform-probed-up":
        return _probed(edges, route.set_id + LEGACY_FIRST, "role=legacy", "old platform's trunk")
    raise KeyError(check)


def _ready(tenant: Mapping[str, Any]) -> tuple[Verdict, str]:
    status = tenant.get("status") or {}
    phase = status.get("phase") or "Pending"
    generation = (tenant.get("metadata") or {}).get("generation")
    observed = status.get("observedGeneration")
    if phase != "Ready":
        why = status.get("message") or "see kubectl describe samu"
        return Verdict.FAIL, f"phase {phase}: {why}"
    if generation is not None and observed != generation:
        return Verdict.FAIL, (
            f"the operator has not reconciled generation {generation} yet (observed "
            f"{observed}): wait, then check again"
        )
    return Verdict.PASS, f"phase Ready, active zone {status.get('activeZone')}"


def _standby(tenant: Mapping[str, Any]) -> tuple[Verdict, str]:
    status = tenant.get("status") or {}
    active = status.get("activeZone")
    zones = [
        str(p.get("zone"))
        for p in status.get("pbx") or []
        if isinstance(p, Mapping)
        and p.get("role") == "standby"
        and p.get("ready")
        and p.get("zone") != active
    ]
    if zones:
        return Verdict.PASS, f"standby ready in {', '.join(zones)} (active in {active})"
    return Verdict.FAIL, (
        f"no standby ready outside the active zone {active}: a zone loss during the night "
        "would leave the SAMU without a PBX"
    )


def _partner(
    tenant: Mapping[str, Any], tenants: Sequence[Mapping[str, Any]]
) -> tuple[Verdict, str]:
    partner = ((tenant.get("spec") or {}).get("overflow") or {}).get("partner")
    if not partner:
        return Verdict.PASS, "no partner (spec.overflow): nothing to check"
    doc = next((t for t in tenants if (t.get("metadata") or {}).get("name") == partner), None)
    if doc is None:
        return Verdict.FAIL, f"partner {partner} does not exist: its débordement goes nowhere"
    phase = (doc.get("status") or {}).get("phase")
    if phase != "Ready":
        return Verdict.FAIL, f"partner {partner} is {phase or 'Pending'}, not Ready"
    return Verdict.PASS, f"partner {partner} Ready"


def _probed(edges: Sequence[EdgeView], set_id: int, attr: str, what: str) -> tuple[Verdict, str]:
    """Some line of ``set_id`` (with ``attr`` among its attributes) is up at every edge."""
    if not edges:
        return Verdict.CANNOT, (
            "needs the edge's view of its probes: give --edge-rpc URL (each edge pod's "
            "JSON-RPC port, e.g. through kubectl port-forward)"
        )
    down = []
    for edge in edges:
        lines = [x for x in edge.sets.get(set_id) or () if attr in x.attrs.split(";") or not attr]
        if not any(x.flags.startswith("A") for x in lines):
            down.append(edge.source)
    if down:
        return Verdict.FAIL, f"no {what} of set {set_id} answers the probes of {', '.join(down)}"
    return Verdict.PASS, f"a {what} of set {set_id} answers the probes of every edge"
