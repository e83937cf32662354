"""The failover engine's writes: a fencing plan (``core.fencing``) carried out on the API.

Each write is stored back into the cache with what the API returned, so the next decision
sees our own labels even before their watch echo arrives.

The status epoch is moved with a JSON patch that first *tests* the epoch it read: two
operator replicas that both believed they were active (a peering glitch) cannot both commit a
promotion; the loser stops before activating anything.
"""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from samu_operator import kube
from samu_operator.core import labels
from samu_operator.core.desired import ACTIVE_SERVICE, active_selector
from samu_operator.core.fencing import (
    SWITCHOVER_ANNOTATION,
    LabelWrite,
    ServiceWrite,
    StatusWrite,
    Step,
)
from samu_operator.core.meta import namespace_of
from samu_operator.failover.cache import Body, FailoverCache
from samu_operator.model.tenant import KIND

log = logging.getLogger("samu_operator.failover")
#: (tenant body, event type, reason, message) -> posts a Kubernetes Event on the tenant.
Emit = Callable[[Mapping[str, Any], str, str, str], None]


class Halted(Exception):
    """Raised by the test hook ``halt_after_steps``: the operator 'dies' mid-promotion."""


class Conflict(kube.KubeError):
    """The commit's compare-and-swap failed: the tenant changed since this engine read it.
    The change's watch event brings the fresh tenant (and a new decision)."""


@dataclass
class FailoverWriter(FailoverCache):
    """Runs plan steps (pod labels, status epoch, Service selector) and posts Events."""

    emit: Emit = lambda body, kind, reason, message: None
    halt_after_steps: int | None = None  # test hook: stop executing a plan after N writes
    halted: bool = False
    services: dict[str, int | None] = field(default_factory=dict)  # tenant -> Service epoch

    def _emit(self, body: Body, kind: str, reason: str, message: str) -> None:
        """An Event is visibility, never a reason to stop a failover half-way."""
        try:
            self.emit(body, kind, reason, message)
        except Exception:
            log.exception("%s: Event %s not posted", body["metadata"]["name"], reason)

    def _run(
        self,
        tenant: str,
        body: Body,
        steps: list[Step],
        epoch_read: int | None = None,
        record: dict[str, Any] | None = None,
    ) -> None:
        client = self.kube_client()
        ns = namespace_of(tenant)
        for i, step in enumerate(steps):
            if self.halt_after_steps is not None and i >= self.halt_after_steps:
                self.halted = True
                raise Halted(f"halted after {i} writes of {tenant}'s plan")
            if isinstance(step, LabelWrite):
                patch = {"metadata": {"labels": dict(step.labels)}}
                if step.annotations:
                    patch["metadata"]["annotations"] = dict(step.annotations)
                try:
                    self._store_pod(client.merge(kube.Ref("v1", "Pod", ns, step.pod), patch))
                except kube.KubeError as exc:
                    if exc.status != 404:
                        raise
            elif isinstance(step, StatusWrite):
                self._commit(client, tenant, body, step, epoch_read, record)
            elif isinstance(step, ServiceWrite):
                ref = kube.Ref("v1", "Service", ns, ACTIVE_SERVICE)
                try:
                    client.merge(ref, {"spec": {"selector": active_selector(tenant, step.epoch)}})
                    self.services[tenant] = step.epoch
                except kube.KubeError as exc:
                    if exc.status != 404:
                        raise  # no Service yet: onboarding creates it with the status epoch

    def _commit(
        self,
        client: kube.Kube,
        tenant: str,
        body: Body,
        step: StatusWrite,
        epoch_read: int | None,
        record: dict[str, Any] | None,
    ) -> None:
        """Compare-and-swap of status.epoch: fails (422) if another writer moved it first.

        The first election has no epoch to compare: the tenant's resourceVersion stands in for
        it, so that the commit applies only to the tenant as it was read. Without it, a cache
        that has not yet seen the onboarding part's first status would replace that whole
        status (``add /status``), and two replicas could both elect a zone. The tenant is
        read just before: during an onboarding the cached copy is nearly always behind (Kopf
        delivers a tenant's events after its creation handler), and a test against it fails.
        """
        ref = kube.Ref(kube.TENANT_API, KIND, None, tenant)
        if "epoch" not in (body.get("status") or {}):
            fresh = client.get(ref)
            if fresh is None:
                return  # deleted meanwhile
            self._store_tenant(fresh)
            if "epoch" in (fresh.get("status") or {}):
                raise Conflict(409, f"{tenant} has an elected PBX already")
            body = fresh
        status = body.get("status")
        version = (body.get("metadata") or {}).get("resourceVersion")
        ops: list[dict[str, Any]] = []
        if status is not None and "epoch" in status:
            ops.append({"op": "test", "path": "/status/epoch", "value": epoch_read})
        elif version is not None:
            ops.append({"op": "test", "path": "/metadata/resourceVersion", "value": version})
        if status is None:
            ops.append({"op": "add", "path": "/status", "value": {}})
        ops.append({"op": "add", "path": "/status/epoch", "value": step.epoch})
        ops.append({"op": "add", "path": "/status/activeZone", "value": step.active_zone})
        if record is not None:
            value = {k: v for k, v in record.items() if k != "_signal"}
            value["seconds"] = round(max(0.0, self.clock() - record["_signal"]), 3)
            ops.append({"op": "add", "path": "/status/lastFailover", "value": value})
        try:
            result = client._call(  # the shared client has merge patches only; this one tests
                "PATCH", ref.path("status"), body=ops, content_type="application/json-patch+json"
            )
        except kube.KubeError as exc:
            if exc.status not in (409, 422):
                raise
            raise Conflict(
                exc.status, f"{tenant} changed since it was read: {exc.message}"
            ) from exc
        self._store_tenant(result)

    def _service_epoch(self, tenant: str) -> int | None:
        """The epoch the active Service selects (read once, then known from our writes)."""
        if tenant not in self.services:
            ref = kube.Ref("v1", "Service", namespace_of(tenant), ACTIVE_SERVICE)
            service = self.kube_client().get(ref)
            if service is None:
                return None  # not created yet: onboarding creates it with the status epoch
            value = ((service.get("spec") or {}).get("selector") or {}).get(labels.EPOCH, "")
            self.services[tenant] = int(value) if value.isdigit() else None
        return self.services[tenant]

    def _clear_switchover(self, tenant: str) -> None:
        ref = kube.Ref(kube.TENANT_API, KIND, None, tenant)
        patch = {"metadata": {"annotations": {SWITCHOVER_ANNOTATION: None}}}
        self._store_tenant(self.kube_client().merge(ref, patch))
