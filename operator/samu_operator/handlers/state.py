"""What the tenant handlers share: the tenant's desired objects (cached), its status facts and
how status is written. Thin glue between Kopf bodies, ``core`` and ``kube``.

Status is written with a merge patch of the onboarding part's fields only (phase, message,
conditions, observedGeneration, pbx), so the failover part's fields (activeZone, epoch,
lastFailover) are never clobbered. The failover part tells the status rule what it knows by
replacing ``failover_facts`` (see ``set_failover_facts``).
"""

import datetime
import json
import os
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from samu_operator import kube
from samu_operator.core import labels, pbx_contract
from samu_operator.core.desired import (
    STORAGE_CLASS,
    STORAGE_CLASS_ENV,
    desired_objects,
    store_data_from,
)
from samu_operator.core.status import Problem, StatusFacts, ZoneFact, same_status, status_patch
from samu_operator.model import SamuTenant
from samu_operator.model.errors import tenant_errors
from samu_operator.model.tenant import KIND

Obj = dict[str, Any]
#: (active zone, failing over?) or (active zone, failing over?, no-standby problem or None).
FailoverFacts = Callable[[Mapping[str, Any]], tuple[Any, ...]]


def _default_failover_facts(body: Mapping[str, Any]) -> tuple[str | None, bool]:
    """(active zone, failing over?) as the failover part left them in status."""
    status = body.get("status") or {}
    return status.get("activeZone"), status.get("phase") == "FailingOver"


failover_facts: FailoverFacts = _default_failover_facts


def set_failover_facts(fn: FailoverFacts) -> None:
    """Let the failover part say which zone is active and whether it is failing over."""
    global failover_facts
    failover_facts = fn


def now() -> str:
    return datetime.datetime.now(tz=datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_parsed: dict[str, tuple[SamuTenant | None, Problem | None]] = {}


def parse(body: Mapping[str, Any]) -> tuple[SamuTenant | None, Problem | None]:
    """The validated tenant, or the problem naming every invalid field and its fix.

    Cached by the exact spec: every child and pod event of a tenant needs it.
    """
    doc = {k: body.get(k) for k in ("apiVersion", "kind", "spec") if body.get(k) is not None}
    doc["metadata"] = {"name": body["metadata"]["name"]}
    key = json.dumps(doc, sort_keys=True, default=str)
    found = _parsed.get(key)
    if found is None:
        errors = tenant_errors(doc)
        if errors:
            found = None, Problem("InvalidSpec", "; ".join(str(e) for e in errors))
        else:
            found = SamuTenant.model_validate(doc), None
        if len(_parsed) > 4096:
            _parsed.clear()
        _parsed[key] = found
    return found


def feasibility(tenant: SamuTenant, zones: Iterable[str], tenants: Iterable[str]) -> Problem | None:
    """A spec the schema accepts but that cannot work in this cluster."""
    known = set(zones)
    missing = [z for z in tenant.spec.pbx.zones if z not in known]
    if missing:
        return Problem(
            "ZoneNotFound",
            f"spec.pbx.zones: no node in zone(s) {', '.join(missing)} "
            f"(label {labels.NODE_ZONE}); zones with nodes: {', '.join(sorted(known)) or 'none'}. "
            "Use one of those or add nodes there.",
        )
    partner = tenant.spec.overflow.partner if tenant.spec.overflow else None
    if partner and partner not in set(tenants):
        return Problem(
            "PartnerNotFound",
            f"spec.overflow.partner: SamuTenant {partner!r} does not exist; onboard it first "
            "or name an existing partner.",
        )
    return None


_cache: dict[tuple[str, str, int, int], list[Obj]] = {}
_cache_lock = threading.Lock()


def desired_for(tenant: SamuTenant, body: Mapping[str, Any]) -> list[Obj]:
    """The tenant's desired objects, computed once per (uid, generation, epoch).

    The Secrets' password and key are generated here; they only reach the cluster when the
    Secret does not exist yet (create-only), so an existing Secret is never overwritten.
    """
    meta = body.get("metadata") or {}
    status = body.get("status") or {}
    key = (tenant.name, meta.get("uid", ""), meta.get("generation") or 0, status.get("epoch", 0))
    with _cache_lock:
        if key not in _cache:
            if len(_cache) > 4096:
                _cache.clear()
            _cache[key] = desired_objects(
                tenant,
                uid=meta.get("uid"),
                sip_password=secrets.token_urlsafe(24),
                position_key=secrets.token_urlsafe(32),
                storage_class=os.environ.get(STORAGE_CLASS_ENV) or STORAGE_CLASS,
                store_data=store_data_from(os.environ),
                edge_cidrs=pbx_contract.pod_cidrs(os.environ.get(pbx_contract.POD_CIDRS_ENV)),
            )
        return _cache[key]


_reconciled: set[tuple[str, str, int]] = set()


def _generation_key(body: Mapping[str, Any]) -> tuple[str, str, int]:
    meta = body.get("metadata") or {}
    return meta.get("name", ""), meta.get("uid", ""), int(meta.get("generation") or 0)


def mark_reconciled(body: Mapping[str, Any]) -> None:
    """This process applied this generation of the tenant in full and wrote its status."""
    if len(_reconciled) > 4096:
        _reconciled.clear()
    _reconciled.add(_generation_key(body))


def reconciled(body: Mapping[str, Any]) -> bool:
    return _generation_key(body) in _reconciled


def pod_roles(pods: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """zone -> the role label the failover part put on the zone's PBX pod (the truth)."""
    return {zone: str(pod["role"]) for zone, pod in pods.items() if pod.get("role")}


def zone_facts(tenant: SamuTenant, pods: Mapping[str, Mapping[str, Any]]) -> list[ZoneFact]:
    """Per-zone PBX facts from the pods index entries of this tenant (zone -> pod info)."""
    return [
        ZoneFact(zone, pods.get(zone, {}).get("name"), bool(pods.get(zone, {}).get("ready")))
        for zone in tenant.spec.pbx.zones
    ]


def write_status(
    body: Mapping[str, Any],
    zones: list[ZoneFact],
    problem: Problem | None,
    generation: int | None,
    pod_roles: Mapping[str, str] | None = None,
) -> str:
    """Merge-patch the onboarding part's status fields when they changed; returns the phase.

    ``generation`` is set by reconciliations only (observedGeneration); a role comes from the
    pod's role label when it has one, else from status, else standby.
    """
    phase, patch = status_update(body, zones, problem, generation, pod_roles)
    if patch is not None:
        send_status(body["metadata"]["name"], patch)
    return phase


#: tenant -> the onboarding fields this process last wrote to its status. Kopf delivers a
#: tenant's events after its creation handler returns: until then, the bodies the handlers
#: see do not have the last write, which would be written again at each pod event.
_written: dict[str, dict[str, Any]] = {}


def send_status(name: str, patch: Mapping[str, Any]) -> None:
    ref = kube.Ref(kube.TENANT_API, KIND, None, name)
    kube.shared().merge(ref, {"status": dict(patch)}, subresource="status")
    if len(_written) > 4096:
        _written.clear()
    _written[name] = dict(patch)


def _timeless(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The status fields without the conditions' transition times."""
    out = dict(fields)
    out["conditions"] = [
        {k: v for k, v in c.items() if k != "lastTransitionTime"}
        for c in fields.get("conditions") or []
    ]
    return out


def status_update(
    body: Mapping[str, Any],
    zones: list[ZoneFact],
    problem: Problem | None,
    generation: int | None,
    pod_roles: Mapping[str, str] | None = None,
) -> tuple[str, dict[str, Any] | None]:
    """(phase, the status merge patch or None when nothing changed): no API call."""
    status = body.get("status") or {}
    active, failing, *more = failover_facts(body)
    roles = {p["zone"]: p["role"] for p in status.get("pbx") or [] if p.get("role")}
    roles |= dict(pod_roles or {})
    facts = StatusFacts(zones, problem, active, failing, generation, roles, *more[:1])
    patch = status_patch(facts, status.get("conditions") or [], now())
    name = (body.get("metadata") or {}).get("name", "")
    last = _written.get(name)
    if same_status(patch, status) or (
        last is not None and same_status(_timeless(patch), _timeless(last))
    ):
        return str(patch["phase"]), None
    return str(patch["phase"]), patch


def previous_problem(body: Mapping[str, Any]) -> Problem | None:
    """The problem the last reconcile reported (Reconciled=False), for status writes that do
    not reconcile (a pod became ready)."""
    for cond in (body.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Reconciled" and cond.get("status") == "False":
            return Problem(cond.get("reason", "NotReconciled"), cond.get("message", ""))
    return None
