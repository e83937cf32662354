"""The SIP edge's routing table, decided from every tenant's spec and status (pure).

Two texts come out, both read by the Kamailio config in helm/samu-edge/files/:

- the dispatcher list. Per tenant, set ``S`` (its département number, 2A = 201, 2B = 202):
  its PBX (core/routing_pbx.py). A tenant with an old platform (``spec.routing.legacy``)
  has two more sets, whatever its mode, so that a flip of mode rewrites no set:
  ``1000 + S`` *legacy first* (the old platform's trunks, then its PBX when ``platform`` is
  a fallback of the legacy mode) and ``2000 + S`` *platform first* (its PBX, then the
  trunks): the set its calls enter in platform mode when ``legacy`` is a fallback, and the
  set of everything the tenant may route to (the next-hop check of its partner's calls);
- the routing map (a db_text table loaded into Kamailio's htable ``routing``): called
  number and département (a bare "15" from the carrier) -> the set new calls enter (the
  *entry set*: the only rows a flip of mode changes); and per set of the tenant: tenant
  name (counter label), tenant -> its PBX set (its positions: who may ring them, where
  they register from), partner's entry set (débordement), partner's every-destination set
  (the next hop of an overflowed call), overflow delay in ms, secours numbers.
  No capacity: ``capacity.maxConcurrentCalls`` is enforced by the PBX, the only place that
  sees all of a SAMU's calls (each edge replica sees its share), which answers 486 beyond it
  and the edge overflows the call (see core/asterisk.py).

A flip (``spec.routing.mode``) changes the entry set of the tenant's numbers, and the
partner rows of the tenants whose partner it is: one write of the routing map and one
``htable.reload``; the dispatcher list, and so the probes' state, stay as they are. Calls in
progress never move: each names its entry set in its signed Record-Route, and that set keeps
every destination it could have been sent to.

Input is plain data (the tenants as the API server returns them, camelCase), so the Kopf
handler, ``samuctl edge render``, ``samuctl bascule`` and the tests all call the same function.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from samu_operator.core.routing_pbx import (
    FLAG_DISABLED,
    PRIORITY_ACTIVE,
    PRIORITY_FIRST_STANDBY,
    Destination,
    last_resort,
    pbx_destinations,
)
from samu_operator.model.routing import Fallback, RoutingMode
from samu_operator.model.tenant import SamuTenantSpec

__all__ = [
    "DEFAULT_ADDRESS_TEMPLATE",
    "FLAG_DISABLED",
    "PRIORITY_ACTIVE",
    "PRIORITY_FIRST_STANDBY",
    "Destination",
    "RoutingError",
    "RoutingTable",
    "TenantRoute",
    "build_routing",
    "set_id_for",
]

#: Where a PBX of a tenant is reached when its status gives no ``address``: the per-zone
#: Service the operator creates in the tenant's Namespace (named after the tenant).
#: ``{zone}`` is the zone's slug (``labels.zone_slug``), as in the Service's name.
DEFAULT_ADDRESS_TEMPLATE = "sip:pbx-{zone}.{tenant}.svc.cluster.local:5060"

#: Set ids of the two Corsican départements (the others are their INSEE number).
_SPECIAL_SETS = {"2A": 201, "2B": 202}
#: The legacy-first and platform-first sets of a tenant: its set id plus these.
LEGACY_FIRST = 1000
PLATFORM_FIRST = 2000
#: The old platform's trunks: above every PBX in the legacy-first set, below every ready PBX
#: (and above the last-resort ones) in the platform-first set.
PRIORITY_LEGACY = 200
PRIORITY_LEGACY_BEHIND = 20


class RoutingError(ValueError):
    """The tenants cannot be routed as given; the message names the tenant, field and fix."""


def set_id_for(department: str) -> int:
    """Dispatcher set id of a département: stable across renders (so a reload of one file
    before the other never points a number at another tenant's PBX)."""
    code = department.upper()
    if code in _SPECIAL_SETS:
        return _SPECIAL_SETS[code]
    if not code.isdigit():
        raise RoutingError(f"département {department!r} has no set id: use an INSEE code")
    return int(code)


@dataclass(frozen=True)
class TenantRoute:
    """Everything the edge needs about one tenant."""

    tenant: str
    department: str
    set_id: int
    epoch: int
    numbers: tuple[str, ...]
    destinations: tuple[Destination, ...]
    left_out: tuple[tuple[str, str], ...] = ()
    partner: str | None = None
    #: the partner's entry set (where its own new calls go now) and its every-destination set
    partner_set: int | None = None
    partner_all_set: int | None = None
    overflow_after_ms: int | None = None
    mode: str = RoutingMode.PLATFORM.value
    #: what the edge tries for a new call, in order (model/routing.py)
    chain: tuple[str, ...] = (Fallback.PLATFORM.value,)
    entry_set: int = 0
    #: the legacy-first and platform-first sets' lines (none without an old platform)
    legacy_first: tuple[Destination, ...] = ()
    platform_first: tuple[Destination, ...] = ()
    secours: tuple[str, ...] = ()

    @property
    def live(self) -> tuple[Destination, ...]:
        return tuple(d for d in self.destinations if not d.disabled)

    @property
    def sets(self) -> tuple[int, ...]:
        """Every set of this tenant: its PBX set, then its bascule sets when it has them."""
        extra = (self.set_id + LEGACY_FIRST, self.set_id + PLATFORM_FIRST)
        return (self.set_id, *extra) if self.legacy_first else (self.set_id,)

    @property
    def all_set(self) -> int:
        """The set holding every destination of this tenant (next-hop checks)."""
        return self.set_id + PLATFORM_FIRST if self.legacy_first else self.set_id

    @property
    def legacy_trunks(self) -> tuple[Destination, ...]:
        return tuple(d for d in self.legacy_first if d.role == "legacy")


@dataclass(frozen=True)
class RoutingTable:
    routes: tuple[TenantRoute, ...]
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def dispatcher_list(self) -> str:
        """Kamailio dispatcher list_file text: set, URI, flags, priority, attributes."""
        lines = ["# generated by samu-operator from the SamuTenant statuses: do not edit"]
        for route in self.routes:
            lines.append(f"# {route.tenant} epoch {route.epoch}")
            lines.extend(d.line() for d in route.destinations)
            lines.extend(f"# left out: {zone} ({why})" for zone, why in route.left_out)
            if route.legacy_first:
                lines.append(f"# {route.tenant} legacy first (mode legacy enters here)")
                lines.extend(d.line() for d in route.legacy_first)
                lines.append(f"# {route.tenant} platform first, then the old platform")
                lines.extend(d.line() for d in route.platform_first)
        return "\n".join(lines) + "\n"

    def routing_rows(self) -> list[tuple[str, str | int]]:
        """(key, value) rows of the routing map, in a stable order."""
        rows: list[tuple[str, str | int]] = []
        for route in self.routes:
            for i, s in enumerate(route.sets):
                rows.append((f"t{s}", route.tenant))
                if i == 0:
                    # the PBX set of a position's tenant: who may ring it, where it may
                    # register from (never an old platform's trunk)
                    rows.append((f"s{route.tenant}", route.set_id))
                    rows.append((f"d{route.department}", route.entry_set))
                    rows.extend((f"n{number}", route.entry_set) for number in route.numbers)
                if route.partner_set is not None:
                    rows.append((f"o{s}", route.partner_set))
                    rows.append((f"p{s}", route.partner_all_set or route.partner_set))
                    if route.overflow_after_ms is not None:
                        rows.append((f"a{s}", route.overflow_after_ms))
                if route.secours:
                    rows.append((f"e{s}", ",".join(route.secours)))
        return rows

    def routing_map(self) -> str:
        """The db_text table file ``routing`` that Kamailio's htable loads."""
        lines = ["key_name(str) key_type(int) value_type(int) key_value(str) expires(int)"]
        for key, value in self.routing_rows():
            vtype = 1 if isinstance(value, int) else 0
            lines.append(f"{_dbt_escape(key)}:0:{vtype}:{_dbt_escape(str(value))}:0")
        return "\n".join(lines) + "\n"

    def route_of(self, tenant: str) -> TenantRoute:
        for route in self.routes:
            if route.tenant == tenant:
                return route
        raise KeyError(tenant)

    def as_dict(self) -> dict[str, Any]:
        return {
            "tenants": [_route_dict(r) for r in self.routes],
            "warnings": list(self.warnings),
        }


def _route_dict(r: TenantRoute) -> dict[str, Any]:
    return {
        "tenant": r.tenant,
        "set": r.set_id,
        "epoch": r.epoch,
        "numbers": list(r.numbers),
        "mode": r.mode,
        "chain": list(r.chain),
        "entrySet": r.entry_set,
        "partner": r.partner,
        "partnerSet": r.partner_set,
        "overflowAfterMs": r.overflow_after_ms,
        "destinations": [_line_dict(d) for d in r.destinations],
        "legacyTrunks": [d.uri for d in r.legacy_trunks],
        "secours": list(r.secours),
        "leftOut": [{"zone": z, "reason": why} for z, why in r.left_out],
    }


def _line_dict(d: Destination) -> dict[str, Any]:
    return {
        "uri": d.uri,
        "zone": d.zone,
        "role": d.role,
        "priority": d.priority,
        "disabled": d.disabled,
        **({"reason": d.reason} if d.reason else {}),
    }


def _dbt_escape(text: str) -> str:
    """db_text separates columns with ':'; escape it, the backslash and line breaks."""
    return text.replace("\\", "\\\\").replace(":", "\\:").replace("\n", "\\n").replace("\r", "\\r")


def build_routing(
    tenants: Iterable[Mapping[str, Any]],
    *,
    address_template: str = DEFAULT_ADDRESS_TEMPLATE,
    addresses: Mapping[str, str] | None = None,
) -> RoutingTable:
    """The routing table for all tenants (documents as the API server returns them).

    ``addresses`` maps "tenant/zone" (a PBX) or "tenant/legacy-N" (the old platform's Nth
    trunk, from 1) to a SIP URI and wins over a status ``address``, the template and the
    spec (tests and labs on 127.0.0.1). Raises RoutingError, naming the tenant and field,
    when two tenants claim the same number or département: nothing half-rendered.
    """
    addresses = addresses or {}
    parsed = [_parse(doc, i) for i, doc in enumerate(tenants)]
    parsed.sort(key=lambda p: (set_id_for(p[1].department), p[0]))
    _check_unique(parsed)
    drafts = [
        _draft(name, spec, status, address_template, addresses) for name, spec, status in parsed
    ]
    by_name = {d.tenant: d for d in drafts}
    owners = {n: r.tenant for r in drafts for n in r.numbers}
    routes: list[TenantRoute] = []
    warnings: list[str] = []
    for draft in drafts:
        route, said = _with_partner(draft, by_name)
        warnings += said
        warnings += [
            f"{route.tenant}: secours number {n} is samu-platform's own ({owners[n]}): "
            "it cannot help when the platform itself is down; prefer a line outside it"
            for n in route.secours
            if n in owners
        ]
        routes.append(route)
    return RoutingTable(tuple(routes), tuple(warnings))


def _draft(
    name: str,
    spec: SamuTenantSpec,
    status: Mapping[str, Any],
    template: str,
    addresses: Mapping[str, str],
) -> TenantRoute:
    """A tenant's route without what depends on its partner (filled in by _with_partner)."""
    set_id = set_id_for(spec.department)
    destinations, left_out = pbx_destinations(set_id, name, spec, status, template, addresses)
    chain = spec.routing_chain
    legacy_first: list[Destination] = []
    platform_first: list[Destination] = []
    legacy = spec.routing.legacy
    if legacy is not None:
        trunks = [
            Destination(
                set_id + LEGACY_FIRST,
                addresses.get(f"{name}/legacy-{i + 1}") or uri,
                PRIORITY_LEGACY - i,
                "",
                "legacy",
                name,
                key=f"legacy-{i + 1}",
            )
            for i, uri in enumerate(legacy.trunks)
        ]
        legacy_chain = spec.model_copy(
            update={"routing": spec.routing.model_copy(update={"mode": RoutingMode.LEGACY})}
        ).routing_chain
        legacy_first = trunks + (
            [d.in_set(set_id + LEGACY_FIRST) for d in destinations]
            if Fallback.PLATFORM in legacy_chain
            else []
        )
        platform_first = [d.in_set(set_id + PLATFORM_FIRST) for d in destinations] + [
            t.in_set(set_id + PLATFORM_FIRST, PRIORITY_LEGACY_BEHIND - i)
            for i, t in enumerate(trunks)
        ]
    if spec.routing.mode == RoutingMode.LEGACY:
        entry = set_id + LEGACY_FIRST
    elif Fallback.LEGACY in chain:
        entry = set_id + PLATFORM_FIRST
    else:
        entry = set_id
    return TenantRoute(
        tenant=name,
        department=spec.department.upper(),
        set_id=set_id,
        epoch=int(status.get("epoch") or 0),
        numbers=tuple(spec.numbers),
        destinations=tuple(destinations),
        left_out=tuple(left_out),
        partner=spec.overflow.partner if spec.overflow else None,
        overflow_after_ms=(spec.overflow.after_seconds * 1000 if spec.overflow else None),
        mode=spec.routing.mode.value,
        chain=tuple(c.value for c in chain),
        entry_set=entry,
        legacy_first=tuple(legacy_first),
        platform_first=tuple(platform_first),
        secours=tuple(s.number for s in spec.routing.secours),
    )


def _with_partner(
    route: TenantRoute, by_name: Mapping[str, TenantRoute]
) -> tuple[TenantRoute, list[str]]:
    """The partner's sets filled in, the last-resort rule applied, and what to warn about."""
    warnings: list[str] = []
    partner = by_name.get(route.partner) if route.partner else None
    if route.partner and partner is None:
        warnings.append(
            f"{route.tenant}: spec.overflow.partner {route.partner!r} is not a known tenant: "
            "no débordement until it is created"
        )
    destinations = route.destinations
    if not route.live and destinations:
        if partner is not None:
            warnings.append(f"{route.tenant}: no live PBX; its calls overflow to {route.partner}")
        else:
            # Nobody to overflow to: a 15 call is never refused on the status alone; the PBX
            # not fenced stay in, last, and Kamailio's probes decide.
            destinations = tuple(last_resort(d) for d in destinations)
            warnings.append(
                f"{route.tenant}: no PBX ready and no partner: its PBX stay in as last resort"
            )
    elif not destinations and partner is None and not route.legacy_first:
        fate = "go to secours" if route.secours else "are refused (503)"
        warnings.append(f"{route.tenant}: no PBX and no partner: its calls {fate}")
    legacy_first, platform_first = route.legacy_first, route.platform_first
    if destinations is not route.destinations:  # the copies follow the PBX set
        by_uri = {d.uri: d for d in destinations}
        legacy_first = tuple(_follow(d, by_uri) for d in legacy_first)
        platform_first = tuple(_follow(d, by_uri) for d in platform_first)
    return (
        TenantRoute(
            **{
                **route.__dict__,
                "destinations": destinations,
                "legacy_first": legacy_first,
                "platform_first": platform_first,
                "partner_set": partner.entry_set if partner else None,
                "partner_all_set": partner.all_set if partner else None,
            }
        ),
        warnings,
    )


def _follow(line: Destination, pbx: Mapping[str, Destination]) -> Destination:
    """A PBX line of a bascule set, as the PBX set now has it (a trunk stays as it is)."""
    if line.role == "legacy" or line.uri not in pbx:
        return line
    return pbx[line.uri].in_set(line.set_id)


def _parse(doc: Mapping[str, Any], index: int) -> tuple[str, SamuTenantSpec, Mapping[str, Any]]:
    name = (doc.get("metadata") or {}).get("name")
    if not isinstance(name, str) or not name:
        raise RoutingError(f"tenant #{index}: metadata.name is missing: name it samu-<dept>")
    try:
        spec = SamuTenantSpec.model_validate(doc.get("spec") or {})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RoutingError(f"{name}: spec.{where}: {first['msg']}") from exc
    status = doc.get("status") or {}
    if not isinstance(status, Mapping):
        raise RoutingError(f"{name}: status must be a mapping")
    return name, spec, status


def _check_unique(parsed: list[tuple[str, SamuTenantSpec, Mapping[str, Any]]]) -> None:
    owner: dict[str, str] = {}
    for name, spec, _ in parsed:
        keys = [f"département {spec.department.upper()}"] + [f"number {n}" for n in spec.numbers]
        for key in keys:
            if key in owner:
                raise RoutingError(
                    f"{name}: {key} is already routed to {owner[key]}: "
                    "a number or département belongs to one SAMU only"
                )
            owner[key] = name
