"""Run a wave through the Kubernetes API: check, flip, wait until it took, report (I/O).

A flip is one merge patch of ``spec.routing.mode``. The edge's routing sidecar renders the
routing map from the spec on that event and reloads Kamailio (core/routing.py: one table,
one ``htable.reload``); the operator acknowledges the new generation in
``status.observedGeneration``. With ``edge_rpcs`` the runner also asks each edge
(``htable.get routing n<number>``) until it routes the SAMU's numbers to the new entry set,
and reads the edge's probes for the checks that need them.

One by one: each SAMU is checked just before its flip, and the wave stops at the first
check that blocks (the SAMU flipped before it stay flipped: ``rollback`` flips them back).
All at once: every SAMU is checked first; one block and nothing is flipped.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from samu_operator import kube
from samu_operator.bascule.checks import (
    CheckResult,
    EdgeLine,
    EdgeView,
    Verdict,
    first_block,
    preflight,
)
from samu_operator.bascule.plan import DIRECTIONS, PlanItem, WavePlan, plan_wave
from samu_operator.bascule.wave import Strategy, Wave
from samu_operator.core.routing import build_routing
from samu_operator.edge.rpc import KamailioRpc, RpcError
from samu_operator.model.tenant import KIND

NOT_MEASURED = (
    "not measured: no call is placed through the flip yet (the live-call rehearsal comes "
    "with the edge's call lab)"
)


class WaveRefused(ValueError):
    """The wave cannot start: its plan has errors (each names the wave entry and the fix)."""

    def __init__(self, plan: WavePlan) -> None:
        super().__init__("\n".join(plan.errors))
        self.plan = plan


@dataclass
class Outcome:
    tenant: str
    mode_from: str
    mode_to: str
    checks: list[CheckResult] = field(default_factory=list)
    flipped: bool = False
    #: seconds from the wave's start to the patch, then to the operator's acknowledgement and
    #: to every edge routing the new mode (None: not observed)
    flipped_at: float | None = None
    acknowledged_seconds: float | None = None
    edge_seconds: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenant": self.tenant,
            "from": self.mode_from,
            "to": self.mode_to,
            "flipped": self.flipped,
            "flippedAt": self.flipped_at,
            "acknowledgedSeconds": self.acknowledged_seconds,
            "edgeSeconds": self.edge_seconds,
            "checks": [c.as_dict() for c in self.checks],
        }


@dataclass
class WaveReport:
    wave: str
    direction: str
    strategy: str
    target: str
    outcomes: list[Outcome] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    stopped: dict[str, str] | None = None
    seconds: float = 0.0
    waived: list[str] = field(default_factory=list)
    #: call set-ups failed through the flips: None until calls are placed (NOT_MEASURED)
    setup_failed: int | None = None

    @property
    def flipped(self) -> list[str]:
        return [o.tenant for o in self.outcomes if o.flipped]

    @property
    def ok(self) -> bool:
        return self.stopped is None

    def as_dict(self) -> dict[str, Any]:
        return {
            "wave": self.wave,
            "direction": self.direction,
            "strategy": self.strategy,
            "target": self.target,
            "flipped": self.flipped,
            "setupFailed": self.setup_failed,
            "setupFailedNote": NOT_MEASURED if self.setup_failed is None else "",
            "seconds": round(self.seconds, 3),
            "stopped": self.stopped,
            "skipped": self.skipped,
            "waived": self.waived,
            "tenants": [o.as_dict() for o in self.outcomes],
        }

    def text(self) -> str:
        verb = "flipped to the platform" if self.direction == "run" else "flipped back"
        lines = [
            f"wave {self.wave} ({self.strategy}) on {self.target}: {len(self.flipped)} SAMU "
            f"{verb} in {self.seconds:.1f} s"
            + (f": {', '.join(self.flipped)}" if self.flipped else "")
        ]
        for o in self.outcomes:
            if not o.flipped:
                continue
            ack = _seconds(o.acknowledged_seconds)
            edge = _seconds(o.edge_seconds) if o.edge_seconds is not None else "not observed"
            lines.append(
                f"- {o.tenant}: {o.mode_from} -> {o.mode_to} at +{o.flipped_at or 0:.1f} s; "
                f"operator acknowledged in {ack}; edge routing it: {edge}"
            )
        if self.skipped:
            lines.append(f"already there, not flipped: {', '.join(self.skipped)}")
        if self.waived:
            lines.append(f"checks waived by --accept-unchecked: {', '.join(self.waived)}")
        lines.append(
            "set-ups failed: "
            + (str(self.setup_failed) if self.setup_failed is not None else NOT_MEASURED)
        )
        if self.stopped:
            s = self.stopped
            lines.append(f"STOPPED at {s['tenant']}: {s['check']}: {s['verdict']} ({s['detail']})")
        return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return "not observed" if value is None else f"{value:.2f} s"


class TenantApi(Protocol):
    """What the runner asks of the API (samu_operator.kube.Kube; plan and check only list)."""

    def list(self, api_version: str, kind: str) -> list[dict[str, Any]]: ...

    def get(self, ref: kube.Ref) -> dict[str, Any] | None: ...

    def merge(self, ref: kube.Ref, patch: dict[str, Any]) -> dict[str, Any]: ...


@dataclass
class Runner:
    client: TenantApi
    target: str
    edge_rpcs: Sequence[str] = ()
    waived: frozenset[str] = frozenset()
    timeout: float = 30.0
    say: Callable[[str], None] = lambda _text: None
    poll: float = 0.05

    def tenants(self) -> list[dict[str, Any]]:
        return self.client.list(kube.TENANT_API, KIND)

    def plan(self, wave: Wave, direction: str) -> WavePlan:
        return plan_wave(wave, self.tenants(), direction)

    def edges(self) -> list[EdgeView]:
        return [edge_view(KamailioRpc(url)) for url in self.edge_rpcs]

    def check(self, wave: Wave, direction: str) -> list[Outcome]:
        """Every check of every SAMU of the wave that would change (nothing written)."""
        plan = self.plan(wave, direction)
        if plan.errors:
            raise WaveRefused(plan)
        tenants, edges = self.tenants(), self.edges()
        return [self._checked(item, tenants, edges, direction) for item in _order(plan)]

    def run(self, wave: Wave, direction: str) -> WaveReport:
        start = time.monotonic()
        plan = self.plan(wave, direction)
        if plan.errors:
            raise WaveRefused(plan)
        report = WaveReport(wave.wave, direction, wave.strategy.value, self.target)
        report.skipped = [i.tenant for i in plan.items if not i.changes]
        items = _order(plan)
        if wave.strategy == Strategy.ALL_AT_ONCE:
            tenants, edges = self.tenants(), self.edges()
            report.outcomes = [self._checked(i, tenants, edges, direction) for i in items]
            if not self._stopped(report):
                generations = {o.tenant: self._flip(o, start) for o in report.outcomes}
                for outcome, item in zip(report.outcomes, items, strict=True):
                    self._confirm(outcome, item, generations[outcome.tenant], report, start)
        else:
            for item in items:
                outcome = self._checked(item, self.tenants(), self.edges(), direction)
                report.outcomes.append(outcome)
                if self._stopped(report):
                    break
                generation = self._flip(outcome, start)
                if not self._confirm(outcome, item, generation, report, start):
                    break
        report.waived = sorted(
            {c.check for o in report.outcomes for c in o.checks if c.verdict == Verdict.WAIVED}
        )
        report.seconds = time.monotonic() - start
        return report

    def _checked(
        self,
        item: PlanItem,
        tenants: list[dict[str, Any]],
        edges: list[EdgeView],
        direction: str,
    ) -> Outcome:
        doc = next(t for t in tenants if t["metadata"]["name"] == item.tenant)
        route = build_routing(tenants).route_of(item.tenant)
        outcome = Outcome(item.tenant, item.mode_now, item.mode_after)
        outcome.checks = preflight(direction, doc, tenants, route, edges, self.waived)
        passed = sum(1 for c in outcome.checks if c.verdict == Verdict.PASS)
        waived = sum(1 for c in outcome.checks if c.verdict == Verdict.WAIVED)
        block = first_block(outcome.checks)
        self.say(
            f"{item.tenant}: {passed}/{len(outcome.checks)} checks passed"
            + (f", {waived} waived" if waived else "")
            + (f"; {block.line()}" if block else "")
        )
        return outcome

    def _stopped(self, report: WaveReport) -> bool:
        for outcome in report.outcomes:
            block = first_block(outcome.checks)
            if block is not None:
                report.stopped = {
                    "tenant": outcome.tenant,
                    "check": block.check,
                    "verdict": block.verdict.value,
                    "detail": block.detail,
                }
                return True
        return False

    def _flip(self, outcome: Outcome, start: float) -> int:
        ref = kube.Ref(kube.TENANT_API, KIND, None, outcome.tenant)
        patched = self.client.merge(ref, {"spec": {"routing": {"mode": outcome.mode_to}}})
        outcome.flipped = True
        outcome.flipped_at = time.monotonic() - start
        self.say(f"{outcome.tenant}: flipped to {outcome.mode_to}")
        return int((patched.get("metadata") or {}).get("generation") or 0)

    def _confirm(
        self, outcome: Outcome, item: PlanItem, generation: int, report: WaveReport, start: float
    ) -> bool:
        """Wait for the operator's acknowledgement and, with edge RPCs, the edges' routing;
        False (and the report stopped) when either does not come within the timeout."""
        flipped_at = start + (outcome.flipped_at or 0.0)
        ref = kube.Ref(kube.TENANT_API, KIND, None, outcome.tenant)

        def acknowledged() -> bool:
            status = (self.client.get(ref) or {}).get("status") or {}
            return int(status.get("observedGeneration") or 0) >= generation

        if not _wait(acknowledged, self.timeout, self.poll):
            return self._stop(
                report,
                outcome,
                "operator-acknowledged",
                f"status.observedGeneration did not reach {generation} within {self.timeout:.0f} s:"
                " is the operator running? (samuctl tenant status)",
            )
        outcome.acknowledged_seconds = time.monotonic() - flipped_at
        if self.edge_rpcs:
            key = f"n{item.numbers[0]}" if item.numbers else f"d{item.department}"
            rpcs = [KamailioRpc(url) for url in self.edge_rpcs]
            if not _wait(
                lambda: all(routed_set(r, key) == item.entry_set_after for r in rpcs),
                self.timeout,
                self.poll,
            ):
                return self._stop(
                    report,
                    outcome,
                    "edge-routes-new-mode",
                    f"an edge does not route {key[1:]} to set {item.entry_set_after} after "
                    f"{self.timeout:.0f} s: check the routing sidecar's log",
                )
            outcome.edge_seconds = time.monotonic() - flipped_at
        self.say(f"{outcome.tenant}: {outcome.mode_to} acknowledged")
        return True

    def _stop(self, report: WaveReport, outcome: Outcome, check: str, detail: str) -> bool:
        outcome.checks.append(CheckResult(check, Verdict.FAIL, detail, "api"))
        report.stopped = {
            "tenant": outcome.tenant,
            "check": check,
            "verdict": Verdict.FAIL.value,
            "detail": detail,
        }
        return False


def _order(plan: WavePlan) -> list[PlanItem]:
    """The SAMU that change, in the wave's order (a rollback goes the other way)."""
    items = [i for i in plan.items if i.changes]
    return items if plan.direction == "run" else list(reversed(items))


def _wait(predicate: Callable[[], bool], timeout: float, poll: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(poll)


def edge_view(rpc: KamailioRpc) -> EdgeView:
    """One edge's dispatcher sets and their probe flags (``dispatcher.list``)."""
    try:
        result = rpc.call("dispatcher.list")
    except RpcError as exc:
        if "No Destination Sets" in str(exc):
            return EdgeView({}, rpc.url)
        raise
    sets: dict[int, list[EdgeLine]] = {}
    for record in (result or {}).get("RECORDS", []):
        targets = record["SET"].get("TARGETS", [])
        lines = sets.setdefault(int(record["SET"]["ID"]), [])
        for target in targets if isinstance(targets, list) else [targets]:
            dest = target.get("DEST") or {}
            attrs = dest.get("ATTRS")
            body = attrs.get("BODY", "") if isinstance(attrs, dict) else str(attrs or "")
            lines.append(EdgeLine(str(dest.get("URI")), str(dest.get("FLAGS")), str(body)))
    return EdgeView(sets, rpc.url)


def routed_set(rpc: KamailioRpc, key: str) -> int | None:
    """The set the edge routes ``key`` (n<number>, d<département>) to now."""
    try:
        item = rpc.call("htable.get", "routing", key)
    except RpcError:
        return None
    try:
        return int(((item or {}).get("item") or {}).get("value"))
    except (TypeError, ValueError):
        return None


__all__ = ["DIRECTIONS", "Outcome", "Runner", "WaveRefused", "WaveReport"]
