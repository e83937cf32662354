"""Kopf handlers on a tenant's children: put back what was edited or deleted by hand, and keep
the tenant's per-zone PBX readiness in its status as pods come and go.

Each child event is checked against that one object's desired form (cached per tenant
generation), so the operator's own writes cost a comparison, not a reconciliation.
"""

import asyncio
from collections.abc import Mapping
from typing import Any

import kopf

from samu_operator import kube, metrics
from samu_operator.core import drift
from samu_operator.core import labels as lbl
from samu_operator.core.desired import apply_policy
from samu_operator.handlers import state
from samu_operator.handlers.tenants import TENANTS, pods_by_zone
from samu_operator.kube import apply as kube_apply
from samu_operator.model.tenant import KIND

#: (group, version, plural) of every kind a tenant owns, watched for drift. Not Secrets:
#: watching them needs list/watch on every Secret of the cluster; the SIP Secret is
#: create-only and a hand-deleted one is re-created by the periodic re-check.
WATCHED: tuple[tuple[str, str, str], ...] = (
    ("", "v1", "namespaces"),
    ("", "v1", "persistentvolumeclaims"),
    ("", "v1", "resourcequotas"),
    ("", "v1", "limitranges"),
    ("networking.k8s.io", "v1", "networkpolicies"),
    ("", "v1", "serviceaccounts"),
    ("", "v1", "configmaps"),
    ("apps", "v1", "statefulsets"),
    ("", "v1", "services"),
    ("policy", "v1", "poddisruptionbudgets"),
    ("rbac.authorization.k8s.io", "v1", "rolebindings"),
)
MANAGED = {lbl.TENANT: kopf.PRESENT, lbl.MANAGED_BY: lbl.OPERATOR}


def _desired_child(body: dict[str, Any], ref: tuple[Any, Any, Any]) -> dict[str, Any] | None:
    """The desired form of one child, or None when the tenant does not want it (any more)."""
    tenant, problem = state.parse(body)
    if tenant is None or problem is not None:
        return None
    for d in state.desired_for(tenant, body):
        if (d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]) == ref:
            return d
    return None


def _settled(body: dict[str, Any] | None) -> bool:
    """Onboarded, not being deleted, and no spec change waiting for the tenant handlers."""
    if not body:
        return False
    meta, status = body.get("metadata") or {}, body.get("status") or {}
    return not meta.get("deletionTimestamp") and status.get("observedGeneration") == meta.get(
        "generation"
    )


async def correct_drift(
    event: kopf.RawEvent, tenant_index: kopf.Index, logger: kopf.Logger
) -> str | None:
    """Put one child back to its desired form; returns what was done (None: nothing).

    The index's copy of the tenant decides cheaply, in the loop, that nothing drifted (our
    own writes: the common case); before acting, the tenant is read afresh in a thread, so a
    child is never put back to a stale spec.
    """
    obj = event["object"]
    meta = obj.get("metadata") or {}
    name = (meta.get("labels") or {}).get(lbl.TENANT)
    bodies = list(tenant_index.get(name, []))
    if not bodies or not _settled(bodies[0]):
        return None
    ref = (obj.get("kind"), meta.get("namespace"), meta.get("name"))
    desired = _desired_child(bodies[0], ref)
    live = None if event["type"] == "DELETED" else obj
    if desired is None:
        return None
    policy = apply_policy(desired)
    if live is not None and (
        policy.create_only or not drift.drifted(live, desired, policy.ignored)
    ):
        return None
    return await asyncio.to_thread(_restore, name, ref, live, logger)


def _restore(
    name: str, ref: tuple[Any, Any, Any], live: dict[str, Any] | None, logger: kopf.Logger
) -> str | None:
    api = kube.shared()
    fresh = api.get(kube.Ref(kube.TENANT_API, KIND, None, name))
    if not _settled(fresh):
        return None
    assert fresh is not None
    desired = _desired_child(fresh, ref)
    if desired is None:
        return None
    if live is None:
        live = api.get(kube.Ref.of(desired))
    result = kube_apply.Applied()
    try:
        kube_apply.apply_one(api, desired, live, result)
    except kube.KubeError as exc:
        metrics.RECONCILE_ERRORS.labels(f"Api{exc.status}").inc()
        raise kopf.TemporaryError(f"cannot restore {ref}: {exc}", delay=2) from exc
    if result.changed:
        what = "re-created" if result.created else "restored"
        message = f"{ref[0]} {ref[1] or ''}/{ref[2]} was changed by hand: {what}"
        logger.warning(message)
        kopf.warn(fresh, reason="DriftCorrected", message=message)
        return what
    return None


def _register() -> None:
    for group, version, plural in WATCHED:
        api_version = f"{group}/{version}" if group else version
        kind = next(k for k, (p, _) in kube.KINDS.items() if p == plural)

        @kopf.on.event(group, version, plural, labels=MANAGED)
        async def on_child_event(
            event: kopf.RawEvent,
            tenant_index: kopf.Index,
            logger: kopf.Logger,
            _api: str = api_version,
            _kind: str = kind,
            **_: Any,
        ) -> None:
            # A list's items may lack kind/apiVersion (the API server omits them): fill them in.
            obj = dict(event["object"], apiVersion=_api, kind=_kind)
            await correct_drift({"type": event["type"], "object": obj}, tenant_index, logger)


_register()


async def refresh_readiness(body: Mapping[str, Any], pbx_index: kopf.Index) -> bool:
    """Write the tenant's per-zone PBX readiness and phase when they changed (the comparison
    runs in the loop; only a write goes to a thread). False: too early to tell (the first
    status is not written yet), ask again later."""
    meta, status = body.get("metadata") or {}, body.get("status") or {}
    if meta.get("deletionTimestamp"):
        return True  # going away
    if status.get("observedGeneration") is None:
        return False  # not reconciled yet: the tenant handler writes the first status
    tenant, problem = state.parse(body)
    if tenant is None:
        return True
    name = meta["name"]
    pods = pods_by_zone(pbx_index, name)
    zones = state.zone_facts(tenant, pods)
    problem = problem or state.previous_problem(body)
    phase, patch = state.status_update(body, zones, problem, None, state.pod_roles(pods))
    if patch is not None:
        await asyncio.to_thread(state.send_status, name, patch)
    metrics.set_phase(name, phase)
    return True


#: Status writes of a tenant wait for its pod events to pause this long (a tenant's pods
#: start, become ready and get their roles in one burst), at most COALESCE_MAX_SECONDS.
COALESCE_SECONDS = 0.2
COALESCE_MAX_SECONDS = 1.0
_due: dict[str, tuple[float, float]] = {}  # tenant -> (first event, write at)


#: A refresh asked before the tenant's first status is known is tried again this many times.
EARLY_RETRIES = 50


def schedule_refresh(
    name: str, tenant_index: kopf.Index, pbx_index: kopf.Index, retries: int = EARLY_RETRIES
) -> None:
    """Refresh the tenant's readiness once its events pause, once for all the events
    meanwhile, from the freshest index entries at that time; again later while it is too
    early to tell (pods may all be ready before the first status reaches the index: no event
    would follow)."""
    loop = asyncio.get_running_loop()
    now = loop.time()
    if name in _due:
        first, _ = _due[name]
        _due[name] = (first, min(first + COALESCE_MAX_SECONDS, now + COALESCE_SECONDS))
        return
    _due[name] = (now, now + COALESCE_SECONDS)

    async def later() -> None:
        while (wait := _due[name][1] - loop.time()) > 0:
            await asyncio.sleep(wait)
        del _due[name]
        bodies = list(tenant_index.get(name, []))
        if bodies and not await refresh_readiness(bodies[0], pbx_index) and retries > 0:
            await asyncio.sleep(0.2)
            schedule_refresh(name, tenant_index, pbx_index, retries - 1)

    task = asyncio.get_running_loop().create_task(later(), name=f"refresh-{name}")
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


_tasks: set[asyncio.Task[None]] = set()


@kopf.on.event("pods", labels={lbl.COMPONENT: lbl.PBX, lbl.TENANT: kopf.PRESENT})
async def on_pbx_pod(
    labels: kopf.Labels, tenant_index: kopf.Index, pbx_index: kopf.Index, **_: Any
) -> None:
    """A PBX pod changed: refresh the tenant's per-zone readiness and phase."""
    schedule_refresh(labels[lbl.TENANT], tenant_index, pbx_index)


@kopf.on.event(*TENANTS)
async def on_tenant_event(
    name: str, tenant_index: kopf.Index, pbx_index: kopf.Index, **_: Any
) -> None:
    """Pods may have become ready before the tenant's first status was written: each tenant
    event compares its status with the pods index (a write only when they differ)."""
    schedule_refresh(name, tenant_index, pbx_index)
