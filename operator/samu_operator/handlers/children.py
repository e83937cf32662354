"""Kopf handlers on a tenant's children: put back what was edited or deleted by hand, and keep
the tenant's per-zone PBX readiness in its status as pods come and go.

Each child event is checked against that one object's desired form (cached per tenant
generation), so the operator's own writes cost a comparison, not a reconciliation.
"""

from typing import Any

import kopf

from samu_operator import kube, kube_apply, metrics
from samu_operator.core import labels as lbl
from samu_operator.handlers import state
from samu_operator.handlers.tenants import pods_by_zone

#: (group, version, plural) of every kind a tenant owns, watched for drift.
WATCHED: tuple[tuple[str, str, str], ...] = (
    ("", "v1", "namespaces"),
    ("", "v1", "persistentvolumeclaims"),
    ("", "v1", "resourcequotas"),
    ("", "v1", "limitranges"),
    ("networking.k8s.io", "v1", "networkpolicies"),
    ("", "v1", "serviceaccounts"),
    ("", "v1", "secrets"),
    ("", "v1", "configmaps"),
    ("apps", "v1", "statefulsets"),
    ("", "v1", "services"),
    ("policy", "v1", "poddisruptionbudgets"),
)
MANAGED = {lbl.TENANT: kopf.PRESENT, lbl.MANAGED_BY: lbl.OPERATOR}


def correct_drift(
    event: kopf.RawEvent, tenant_index: kopf.Index, logger: kopf.Logger
) -> str | None:
    """Put one child back to its desired form; returns what was done (None: nothing)."""
    obj = event["object"]
    meta = obj.get("metadata") or {}
    name = (meta.get("labels") or {}).get(lbl.TENANT)
    bodies = list(tenant_index.get(name, []))
    if not bodies:
        return None
    body = bodies[0]
    if (body.get("metadata") or {}).get("deletionTimestamp"):
        return None  # being torn down: the deletion handler owns the children now
    tenant, problem = state.parse(body)
    if tenant is None or problem is not None:
        return None
    ref = (obj.get("kind"), meta.get("namespace"), meta.get("name"))
    desired = next(
        (
            d
            for d in state.desired_for(tenant, body)
            if (d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) == ref
        ),
        None,
    )
    if desired is None or not (body.get("status") or {}).get("observedGeneration"):
        return None  # not ours (pruned), or not onboarded yet: the tenant handler applies it
    result = kube_apply.Applied()
    live = None if event["type"] == "DELETED" else obj
    try:
        kube_apply.apply_one(kube.shared(), desired, live, result)
    except kube.KubeError as exc:
        metrics.RECONCILE_ERRORS.labels(f"Api{exc.status}").inc()
        raise kopf.TemporaryError(f"cannot restore {ref}: {exc}", delay=2) from exc
    if result.changed:
        what = "re-created" if result.created else "restored"
        message = f"{ref[0]} {ref[1] or ''}/{ref[2]} was changed by hand: {what}"
        logger.warning(message)
        kopf.warn(body, reason="DriftCorrected", message=message)
        return what
    return None


def _register() -> None:
    for group, version, plural in WATCHED:
        api_version = f"{group}/{version}" if group else version
        kind = next(k for k, (p, _) in kube.KINDS.items() if p == plural)

        @kopf.on.event(group, version, plural, labels=MANAGED)
        def on_child_event(
            event: kopf.RawEvent,
            tenant_index: kopf.Index,
            logger: kopf.Logger,
            _api: str = api_version,
            _kind: str = kind,
            **_: Any,
        ) -> None:
            # A list's items may lack kind/apiVersion (the API server omits them): fill them in.
            obj = dict(event["object"], apiVersion=_api, kind=_kind)
            correct_drift({"type": event["type"], "object": obj}, tenant_index, logger)


_register()


@kopf.on.event("pods", labels={lbl.COMPONENT: lbl.PBX, lbl.TENANT: kopf.PRESENT})
def on_pbx_pod(
    labels: kopf.Labels, tenant_index: kopf.Index, pbx_index: kopf.Index, **_: Any
) -> None:
    """A PBX pod changed: refresh the tenant's per-zone readiness and phase."""
    name = labels[lbl.TENANT]
    bodies = list(tenant_index.get(name, []))
    if not bodies:
        return
    body = bodies[0]
    tenant, problem = state.parse(body)
    if tenant is None or (body.get("metadata") or {}).get("deletionTimestamp"):
        return
    zones = state.zone_facts(tenant, pods_by_zone(pbx_index, name))
    problem = problem or state.previous_problem(body)
    generation = (body.get("status") or {}).get("observedGeneration")
    if generation is None:
        return  # not reconciled yet: the tenant handler writes the first status
    phase = state.write_status(body, zones, problem, generation)
    metrics.set_phase(name, phase)
