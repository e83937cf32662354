"""Kopf handlers of the SamuTenant lifecycle: onboard, update, resume, re-check, delete.

Thin: what to create is ``core.desired``, what counts as drift ``core.drift``, the phase
``core.status``; this module wires them to Kopf and the API. Sync handlers on purpose: Kopf
runs them in its thread pool, where the official (sync) Kubernetes client lives.
"""

import asyncio
import contextlib
import os
import time
from collections.abc import Mapping
from typing import Any

import kopf

from samu_operator import kube, metrics, positions_publish
from samu_operator.core import labels as lbl
from samu_operator.core.rollout import REVISION
from samu_operator.core.status import Problem
from samu_operator.handlers import state
from samu_operator.kube import apply as kube_apply
from samu_operator.model.tenant import API_GROUP, API_VERSION, PLURAL

TENANTS = (API_GROUP, API_VERSION, PLURAL)
RECHECK_ENV = "SAMU_OPERATOR_RECHECK_SECONDS"
#: Delay before retrying a spec that cannot work yet (a partner or a zone may appear).
RETRY_SECONDS = 5.0


def recheck_seconds() -> float:
    return float(os.environ.get(RECHECK_ENV, "60"))


# --- indexes: what the handlers look up without asking the API server -----------------------


@kopf.index(*TENANTS)
def tenant_index(name: str, body: kopf.Body, **_: Any) -> dict[str, dict[str, Any]]:
    """name -> the tenant's raw body (for the children's drift handlers and partner checks)."""
    return {name: {k: body.get(k) for k in ("apiVersion", "kind", "metadata", "spec", "status")}}


@kopf.index("nodes")
def zone_index(name: str, labels: kopf.Labels, **_: Any) -> dict[str, str] | None:
    """zone -> node names (a zone with no node cannot host a PBX)."""
    zone = labels.get(lbl.NODE_ZONE)
    return {zone: name} if zone else None


@kopf.index("pods", labels={lbl.COMPONENT: lbl.PBX, lbl.TENANT: kopf.PRESENT})
def pbx_index(
    name: str, labels: kopf.Labels, status: kopf.Status, meta: kopf.Meta, **_: Any
) -> dict[str, dict[str, Any]]:
    """tenant -> {zone, name, ready} of each of its PBX pods."""
    conditions = status.get("conditions") or []
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    ready = ready and not meta.get("deletionTimestamp")
    zone = labels.get(lbl.ZONE, "")
    role = labels.get(lbl.ROLE)
    revision = labels.get(REVISION)
    return {
        labels[lbl.TENANT]: {
            "zone": zone,
            "name": name,
            "ready": ready,
            "role": role,
            "revision": revision,
        }
    }


def pods_by_zone(pbx_index: kopf.Index, tenant: str) -> dict[str, dict[str, Any]]:
    """zone -> the tenant's PBX pod there (a ready one when two exist during a restart)."""
    found: dict[str, dict[str, Any]] = {}
    for pod in pbx_index.get(tenant, []):
        if pod["zone"] not in found or pod["ready"]:
            found[pod["zone"]] = pod
    return found


# --- reconciliation ----------------------------------------------------------------------


def reconcile(
    body: Mapping[str, Any],
    *,
    fresh: bool,
    prune: bool,
    drift: bool = False,
    tenant_index: kopf.Index,
    zone_index: kopf.Index,
    pbx_index: kopf.Index,
    logger: kopf.Logger,
) -> str:
    """Apply the tenant's desired state (or report why it cannot work) and write its status."""
    name = body["metadata"]["name"]
    started = time.perf_counter()
    tenant, problem = state.parse(body)
    if tenant is not None:
        problem = state.feasibility(tenant, zone_index.keys(), tenant_index.keys())
    try:
        if problem is not None:
            return _report(body, problem, logger)
        assert tenant is not None
        desired = state.desired_for(tenant, body)
        if fresh and state.reconciled(body):
            # Kopf runs a creation again when the echo of its own annotations comes late
            # (a loaded API server): this process applied this generation already.
            applied = kube_apply.Applied(unchanged=len(desired))
            published = kube_apply.Applied()
        else:
            applied = kube_apply.apply_all(kube.shared(), desired, fresh=fresh)
            key = positions_publish.created_key_secret(desired, applied.created)
            uid = body["metadata"].get("uid")
            published = positions_publish.publish(kube.shared(), tenant, uid, key)
        applied.created += published.created
        applied.patched += published.patched
        pruned = kube_apply.prune(kube.shared(), name, desired) if prune else []
        if drift and applied.changed:
            message = f"changed by hand, put back: {', '.join(applied.created + applied.patched)}"
            kopf.warn(dict(body), reason="DriftCorrected", message=message)
        if applied.changed or pruned:
            logger.info(
                f"applied {name}: created {len(applied.created)}, patched {applied.patched}, "
                f"pruned {pruned}"
            )
        pods = pods_by_zone(pbx_index, name)
        zones = state.zone_facts(tenant, pods)
        generation = body["metadata"].get("generation")
        phase = state.write_status(body, zones, None, generation, state.pod_roles(pods))
        state.mark_reconciled(body)
        metrics.set_phase(name, phase)
        return phase
    except kube.KubeError as exc:
        metrics.RECONCILE_ERRORS.labels(f"Api{exc.status}").inc()
        raise kopf.TemporaryError(f"API error while applying {name}: {exc}", delay=2) from exc
    except (kopf.TemporaryError, kopf.PermanentError):
        raise
    except Exception as exc:  # the API unreachable, a timeout: retry soon, not in Kopf's 60 s
        metrics.RECONCILE_ERRORS.labels(type(exc).__name__).inc()
        raise kopf.TemporaryError(
            f"cannot reach the API while applying {name}: {exc}", delay=1
        ) from exc
    finally:
        metrics.RECONCILE_DURATION.observe(time.perf_counter() - started)


def _report(body: Mapping[str, Any], problem: Problem, logger: kopf.Logger) -> str:
    """A spec that cannot work: status Failed + a Warning Event; nothing is applied.

    Retried (a zone's nodes or the partner may appear) unless the spec itself is invalid.
    """
    metrics.RECONCILE_ERRORS.labels(problem.reason).inc()
    previous = state.previous_problem(body)
    generation = body["metadata"].get("generation")
    phase = state.write_status(body, [], problem, generation)
    metrics.set_phase(body["metadata"]["name"], phase)
    if previous != problem:
        kopf.warn(dict(body), reason=problem.reason, message=problem.message)
    logger.warning(f"{problem.reason}: {problem.message}")
    if problem.reason == "InvalidSpec":
        raise kopf.PermanentError(problem.message)
    raise kopf.TemporaryError(problem.message, delay=RETRY_SECONDS)


@kopf.on.create(*TENANTS)
def on_create(body: kopf.Body, logger: kopf.Logger, **kwargs: Any) -> None:
    reconcile(body, fresh=True, prune=False, logger=logger, **_indexes(kwargs))


@kopf.on.update(*TENANTS, field="spec")
def on_update(body: kopf.Body, logger: kopf.Logger, **kwargs: Any) -> None:
    reconcile(body, fresh=False, prune=True, logger=logger, **_indexes(kwargs))


@kopf.on.resume(*TENANTS)
def on_resume(body: kopf.Body, logger: kopf.Logger, **kwargs: Any) -> None:
    reconcile(body, fresh=False, prune=False, drift=True, logger=logger, **_indexes(kwargs))


@kopf.timer(*TENANTS, interval=recheck_seconds(), initial_delay=recheck_seconds())
def recheck(body: kopf.Body, logger: kopf.Logger, **kwargs: Any) -> None:
    """Safety net against missed events: reads every child, writes only what drifted."""
    # A problem is already reported in status and as an Event; the next tick tries again.
    with contextlib.suppress(kopf.TemporaryError, kopf.PermanentError):
        reconcile(body, fresh=False, prune=False, drift=True, logger=logger, **_indexes(kwargs))


#: Seconds a spec generation may stay unobserved before the catch-up timer reconciles it.
CATCH_UP_ENV = "SAMU_OPERATOR_CATCH_UP_SECONDS"
CATCH_UP_ANNOTATION = f"{lbl.GROUP}/catch-up"
_unobserved_since: dict[tuple[str, int], float] = {}


def catch_up_seconds() -> float:
    return float(os.environ.get(CATCH_UP_ENV, "10"))


@kopf.timer(*TENANTS, interval=catch_up_seconds() / 2, initial_delay=catch_up_seconds() / 2)
async def catch_up(body: kopf.Body, logger: kopf.Logger, **_: Any) -> None:
    """Nudge Kopf about a tenant whose spec generation stays unobserved for
    ``catch_up_seconds``: an annotation written on it is the event Kopf waits for.

    Kopf can lose a creation or a spec change: when the answer to its finalizer patch is
    lost and its retry fails its own resourceVersion test, it waits for a new event of that
    tenant before handling it, and none may come (the tenant then stays without objects and
    status until the re-check, a minute later). Reconciling here instead would duplicate
    the work of a handler Kopf has merely queued (a hundred tenants at once); the nudge costs
    one request, and nothing when nothing is missed.
    """
    meta, status = body.get("metadata") or {}, body.get("status") or {}
    name, generation = meta["name"], int(meta.get("generation") or 0)
    if meta.get("deletionTimestamp") or status.get("observedGeneration") == generation:
        _unobserved_since.pop((name, generation), None)
        return
    now = time.monotonic()
    since = _unobserved_since.setdefault((name, generation), now)
    if now - since < catch_up_seconds():
        return
    _unobserved_since[(name, generation)] = now  # the next nudge, if needed, one period later
    logger.warning(f"generation {generation} of {name} not reconciled yet: nudging Kopf")
    ref = kube.Ref(kube.TENANT_API, body["kind"], None, name)
    patch = {"metadata": {"annotations": {CATCH_UP_ANNOTATION: f"{generation}@{state.now()}"}}}
    with contextlib.suppress(kube.KubeError):  # the next tick tries again
        await asyncio.to_thread(kube.shared().merge, ref, patch)


@kopf.on.delete(*TENANTS)
def on_delete(body: kopf.Body, logger: kopf.Logger, **kwargs: Any) -> None:
    """Delete the tenant's objects; its recordings stay unless spec.recording.deleteWithTenant."""
    name = body["metadata"]["name"]
    tenant, _ = state.parse(body)
    delete_recordings = bool(tenant and tenant.spec.recording.delete_with_tenant)
    desired = state.desired_for(tenant, body) if tenant else []
    note = f"{state.now()}: SamuTenant {name} deleted; recordings kept (deleteWithTenant=false)"
    desired = [*desired, *positions_publish.teardown_refs(name)] if tenant else []
    done = kube_apply.teardown(kube.shared(), name, desired, delete_recordings, note)
    if done.kept:
        message = (
            f"recordings kept in Namespace {name}: {', '.join(done.kept)}; delete them by hand "
            "once their retention has passed"
        )
        kopf.event(dict(body), type="Normal", reason="RecordingsRetained", message=message)
        ref = kube.Ref(kube.TENANT_API, body["kind"], None, name)
        with contextlib.suppress(kube.KubeError):  # the Event says it too
            kube.shared().merge(ref, {"status": {"message": message}}, subresource="status")
    else:
        message = f"deleted {len(done.deleted)} objects, recordings included"
        kopf.event(dict(body), type="Normal", reason="TenantDeleted", message=message)
    logger.info(f"deleted {name}: {len(done.deleted)} objects; kept {done.kept}")
    metrics.set_phase(name, None)


def _indexes(kwargs: Mapping[str, Any]) -> dict[str, Any]:
    return {k: kwargs[k] for k in ("tenant_index", "zone_index", "pbx_index")}
