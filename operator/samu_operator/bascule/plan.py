"""What a wave changes, per SAMU, before anything is flipped (pure).

The plan is computed by the same function the edge's sidecar runs (core/routing.py) over
the tenants as they are and as they will be: the entry set of each SAMU's numbers before
and after, what the edge will try in order, the partners whose débordement follows, and the
routing rows that change. It refuses a wave that names a tenant the cluster does not have, or
one without an old platform (nothing to flip).
"""

import copy
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from samu_operator.bascule.wave import Wave
from samu_operator.core.routing import RoutingTable, build_routing
from samu_operator.model.routing import RoutingMode

#: run flips to the platform, rollback back to the old platform
DIRECTIONS = {"run": RoutingMode.PLATFORM.value, "rollback": RoutingMode.LEGACY.value}


@dataclass(frozen=True)
class PlanItem:
    tenant: str
    mode_now: str
    mode_after: str
    numbers: list[str]
    department: str
    entry_set_now: int
    entry_set_after: int
    chain_now: list[str]
    chain_after: list[str]
    legacy_trunks: list[str]
    secours: list[str]
    #: tenants whose débordement goes to this SAMU's entry set, and so moves with it
    partners_following: list[str]
    warnings: list[str] = field(default_factory=list)

    @property
    def changes(self) -> bool:
        return self.mode_now != self.mode_after


@dataclass(frozen=True)
class WavePlan:
    wave: str
    direction: str
    strategy: str
    items: list[PlanItem]
    errors: list[str]
    rows_changed: int

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for item, data in zip(self.items, out["items"], strict=True):
            data["changes"] = item.changes
        return out

    def text(self) -> str:
        lines = [
            f"wave {self.wave} ({self.strategy}), {self.direction}: "
            f"{sum(i.changes for i in self.items)} of {len(self.items)} SAMU change mode; "
            f"{self.rows_changed} routing rows change, no dispatcher set"
        ]
        for item in self.items:
            if not item.changes:
                lines.append(f"- {item.tenant}: already {item.mode_now}, nothing to flip")
                continue
            lines.append(
                f"- {item.tenant}: {item.mode_now} -> {item.mode_after}; numbers "
                f"{', '.join(item.numbers) or '(none)'} and département {item.department}: "
                f"set {item.entry_set_now} -> {item.entry_set_after}"
            )
            lines.append(
                f"    new calls try: {' > '.join(item.chain_now)}  becomes  "
                f"{' > '.join(item.chain_after)}"
            )
            if item.partners_following:
                lines.append(
                    f"    débordement of {', '.join(item.partners_following)} follows the flip"
                )
            lines += [f"    warning: {w}" for w in item.warnings]
        return "\n".join(lines)


def flipped(docs: Sequence[Mapping[str, Any]], names: set[str], mode: str) -> list[dict[str, Any]]:
    """Copies of the tenants with ``spec.routing.mode`` set to ``mode`` for ``names``."""
    out = []
    for doc in docs:
        doc = copy.deepcopy(dict(doc))
        if (doc.get("metadata") or {}).get("name") in names:
            routing = doc.setdefault("spec", {}).setdefault("routing", {})
            routing["mode"] = mode
        out.append(doc)
    return out


def plan_wave(wave: Wave, tenants: Sequence[Mapping[str, Any]], direction: str) -> WavePlan:
    """The plan of ``direction`` ("run" or "rollback") for ``wave`` over the cluster's tenants
    (documents as the API returns them). Errors name the wave entry and the fix."""
    target = DIRECTIONS[direction]
    by_name = {str((t.get("metadata") or {}).get("name")): t for t in tenants}
    errors = []
    names: list[str] = []
    for i, name in enumerate(wave.tenants):
        doc = by_name.get(name)
        if doc is None:
            errors.append(
                f"tenants[{i}]: {name} is not a SamuTenant here: onboard it first, or "
                "remove it from the wave"
            )
        elif not ((doc.get("spec") or {}).get("routing") or {}).get("legacy"):
            errors.append(
                f"tenants[{i}]: {name} has no old platform (spec.routing.legacy): nothing to "
                "flip; declare its trunks, or remove it from the wave"
            )
        else:
            names.append(name)
    now = build_routing(tenants)
    after = build_routing(flipped(tenants, set(names), target))
    items = [_item(name, now, after, target) for name in names]
    old, new = dict(now.routing_rows()), dict(after.routing_rows())
    rows_changed = sum(1 for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    return WavePlan(wave.wave, direction, wave.strategy.value, items, errors, rows_changed)


def _item(name: str, now: RoutingTable, after: RoutingTable, target: str) -> PlanItem:
    before_route, after_route = now.route_of(name), after.route_of(name)
    warnings = []
    if not after_route.secours:
        warnings.append(
            "no secours numbers (spec.routing.secours): when no PBX and no partner can take "
            "a call, the caller gets an error"
        )
    if target == RoutingMode.PLATFORM and "legacy" not in after_route.chain:
        warnings.append(
            "after the flip the old platform is no fallback: add 'legacy' to "
            "spec.routing.fallbacks for the parallel run"
        )
    return PlanItem(
        tenant=name,
        mode_now=before_route.mode,
        mode_after=target,
        numbers=list(before_route.numbers),
        department=before_route.department,
        entry_set_now=before_route.entry_set,
        entry_set_after=after_route.entry_set,
        chain_now=list(before_route.chain),
        chain_after=list(after_route.chain),
        legacy_trunks=[d.uri for d in before_route.legacy_trunks],
        secours=list(before_route.secours),
        partners_following=[r.tenant for r in now.routes if r.partner == name],
        warnings=warnings,
    )
