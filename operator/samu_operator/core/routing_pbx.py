"""The PBX lines of a tenant's dispatcher set, decided from its spec and status (pure).

The active PBX of the current epoch first (highest priority: algorithm 8 tries the highest
first), ready standbys next in the tenant's promotion order; a PBX that is not ready or down
is written *disabled* (flag 4: never selected, never probed) and a fenced or stale active
one is left out, because ``dispatcher.reload`` forgets probe state and would otherwise send
calls to it again.
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from samu_operator.core.labels import zone_slug
from samu_operator.model.tenant import PbxRole, SamuTenantSpec

PRIORITY_ACTIVE = 100
PRIORITY_FIRST_STANDBY = 90
FLAG_DISABLED = 4


@dataclass(frozen=True)
class Destination:
    """One line of a dispatcher set: a PBX, or a trunk of the centre's old platform."""

    set_id: int
    uri: str
    priority: int
    zone: str
    role: str
    tenant: str
    disabled: bool = False
    reason: str = ""
    #: what names the line in its set when it is no PBX (``legacy-1``); a PBX: its zone
    key: str = ""

    @property
    def duid(self) -> str:
        return f"{self.tenant}-{self.key or zone_slug(self.zone)}"

    def line(self) -> str:
        flags = FLAG_DISABLED if self.disabled else 0
        where = f"zone={self.zone};" if self.zone else ""
        attrs = f"duid={self.duid};{where}role={self.role}"
        return f"{self.set_id} {self.uri} {flags} {self.priority} {attrs}"

    def in_set(self, set_id: int, priority: int | None = None) -> "Destination":
        """The same destination as a line of another set (the bascule's sets share lines)."""
        return replace(
            self, set_id=set_id, priority=self.priority if priority is None else priority
        )


def pbx_destinations(
    set_id: int,
    name: str,
    spec: SamuTenantSpec,
    status: Mapping[str, Any],
    template: str,
    addresses: Mapping[str, str],
) -> tuple[list[Destination], list[tuple[str, str]]]:
    """Active (current epoch) first, ready standbys in promotion order, others disabled;
    and the zones left out, with why."""
    epoch = int(status.get("epoch") or 0)
    active_zone = status.get("activeZone")
    entries = {str(e.get("zone")): e for e in status.get("pbx") or [] if isinstance(e, Mapping)}
    order = spec.zone_order + sorted(z for z in entries if z not in spec.zone_order)
    active: list[Destination] = []
    standbys: list[Destination] = []
    disabled: list[Destination] = []
    left_out: list[tuple[str, str]] = []
    for zone in order:
        entry = entries.get(zone)
        if entry is None:
            continue
        role = str(entry.get("role") or "")
        ready = bool(entry.get("ready"))
        uri = (
            addresses.get(f"{name}/{zone}")
            or entry.get("address")
            or template.format(
                zone=zone_slug(zone),
                tenant=name,
                department=spec.department.lower(),
                pod=entry.get("pod"),
            )
        )
        if role == PbxRole.FENCED:
            left_out.append((zone, "fenced"))
            continue
        if role == PbxRole.DOWN:
            disabled.append(_disable(Destination(set_id, uri, 0, zone, role, name), "down"))
            continue
        if zone == active_zone or (role == PbxRole.ACTIVE and active_zone is None):
            # status.activeZone at status.epoch is the fencing truth; a PBX entry's role may
            # lag behind it for a moment.
            role = PbxRole.ACTIVE
        if role == PbxRole.ACTIVE:
            stale = (active_zone is not None and zone != active_zone) or (
                entry.get("epoch") is not None and int(entry["epoch"]) != epoch
            )
            if stale or active:
                left_out.append((zone, f"stale active, not epoch {epoch}"))
                continue
            dest = Destination(set_id, uri, PRIORITY_ACTIVE, zone, role, name)
            if ready:
                active.append(dest)
            else:
                disabled.append(_disable(dest, "active not ready"))
            continue
        dest = Destination(set_id, uri, 0, zone, role or "standby", name)
        if role == PbxRole.STANDBY and ready:
            standbys.append(dest)
        else:
            disabled.append(_disable(dest, "not ready"))
    ranked = [
        Destination(d.set_id, d.uri, PRIORITY_FIRST_STANDBY - 10 * i, d.zone, d.role, d.tenant)
        for i, d in enumerate(standbys)
    ]
    return active + ranked + disabled, left_out


def _disable(dest: Destination, reason: str) -> Destination:
    return Destination(
        dest.set_id, dest.uri, 0, dest.zone, dest.role, dest.tenant, disabled=True, reason=reason
    )


def last_resort(dest: Destination) -> Destination:
    priority = PRIORITY_ACTIVE if dest.reason == "active not ready" else 1
    return Destination(
        dest.set_id, dest.uri, priority, dest.zone, dest.role, dest.tenant, reason="last resort"
    )
