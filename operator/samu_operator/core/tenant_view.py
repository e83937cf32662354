"""What `samuctl tenant status` shows of a tenant: one row per SamuTenant, from plain data.

Pure: the caller reads the SamuTenant and its ``dropped-calls`` ConfigMap from the API (a
cluster or the emulator) and passes them in. A figure nobody measures yet is ``None`` and
shows as "n/a": the table never invents a value.
"""

import datetime
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

NOT_KNOWN = "n/a"
COLUMNS = (
    ("name", "NAME"),
    ("phase", "PHASE"),
    ("mode", "MODE"),
    ("active_zone", "ACTIVE"),
    ("epoch", "EPOCH"),
    ("last_failover", "LAST FAILOVER"),
    ("standbys", "STANDBYS"),
    ("positions", "POSITIONS"),
    ("call_backs", "CALL-BACKS"),
    ("recording_backlog", "REC BACKLOG"),
)


@dataclass(frozen=True)
class TenantRow:
    name: str
    phase: str
    #: spec.routing.mode: where the edge sends new calls (platform: its PBX; legacy: the old
    #: platform of a centre in parallel run)
    mode: str
    active_zone: str | None
    epoch: int
    last_failover: dict[str, Any] | None
    standbys: int
    standby_zones: list[str]
    positions: int | None  # positions registered at the edge; None while nobody reports it
    call_backs: int | None  # answered calls dropped with their PBX, waiting for call-back
    recording_backlog: int | None  # recording chunks not yet in the store; None: not reported

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def cells(self, now: datetime.datetime) -> list[str]:
        values = self.as_dict()
        values["last_failover"] = describe_failover(self.last_failover, now)
        values["standbys"] = (
            f"{self.standbys} ({','.join(self.standby_zones)})" if self.standbys else "0"
        )
        return [NOT_KNOWN if values[key] is None else str(values[key]) for key, _ in COLUMNS]


def tenant_row(
    tenant: Mapping[str, Any],
    dropped_calls: Mapping[str, Any] | None,
    *,
    positions: int | None = None,
    recording_backlog: int | None = None,
) -> TenantRow:
    """The row of one SamuTenant (as the API returns it) and its dropped-calls ConfigMap
    (None when it does not exist: no call was ever dropped, so 0 to call back)."""
    status = tenant.get("status") or {}
    pbx = [p for p in status.get("pbx") or [] if isinstance(p, Mapping)]
    standby_zones = [
        str(p.get("zone")) for p in pbx if p.get("role") == "standby" and p.get("ready")
    ]
    data = (dropped_calls or {}).get("data") or {}
    return TenantRow(
        name=str((tenant.get("metadata") or {}).get("name")),
        phase=str(status.get("phase") or "Pending"),
        mode=str(((tenant.get("spec") or {}).get("routing") or {}).get("mode") or "platform"),
        active_zone=status.get("activeZone"),
        epoch=int(status.get("epoch") or 0),
        last_failover=status.get("lastFailover"),
        standbys=len(standby_zones),
        standby_zones=standby_zones,
        positions=positions,
        call_backs=len(data),  # one key per call (core/dropped.py)
        recording_backlog=recording_backlog,
    )


def describe_failover(record: Mapping[str, Any] | None, now: datetime.datetime) -> str:
    """``a->b 5m ago (NodeNotReady, 1.4 s)``, or "never"."""
    if not record:
        return "never"
    when = ""
    try:
        at = datetime.datetime.fromisoformat(str(record.get("at")).replace("Z", "+00:00"))
        when = f" {age(now - at)} ago"
    except ValueError:
        pass
    seconds = record.get("seconds")
    took = f", {float(seconds):.1f} s" if isinstance(seconds, int | float) else ""
    return f"{record.get('from') or '?'}->{record.get('to')}{when} ({record.get('reason')}{took})"


def age(delta: datetime.timedelta) -> str:
    """kubectl-style age: 42s, 5m, 3h, 2d."""
    seconds = max(0, int(delta.total_seconds()))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def render_table(rows: list[TenantRow], now: datetime.datetime) -> str:
    """Columns aligned as `kubectl get` aligns them (three spaces between)."""
    table = [[title for _, title in COLUMNS]] + [row.cells(now) for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(COLUMNS))]
    return "\n".join(
        "   ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in table
    )
