"""The failover engine's own view of pods, nodes and tenants, and the ``World`` built from it.

Why a cache of its own rather than reading the API on each event: a zone loss touches a
third of all tenants at once, and the decision must come within a second of the signal.
The cache is written through with what each of our own writes returns, and never goes back
to an older resourceVersion, so a late watch echo cannot make it plan twice from stale labels.
"""

import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from samu_operator import kube
from samu_operator.core import labels
from samu_operator.core.facts import (
    fenced_at,
    node_fact,
    pod_fact,
    tenant_policy,
    tenant_state,
    zone_declared_down,
)
from samu_operator.core.failover import World, pod_health, zone_pod
from samu_operator.core.meta import namespace_of

Body = dict[str, Any]
RESYNC_ENV = "SAMU_FAILOVER_RESYNC_SECONDS"


def _rv(body: Mapping[str, Any]) -> int | None:
    value = (body.get("metadata") or {}).get("resourceVersion")
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _newer(new: Mapping[str, Any], old: Mapping[str, Any] | None) -> bool:
    if old is None:
        return True
    a, b = _rv(new), _rv(old)
    return a is None or b is None or a >= b


def _node_view(body: Mapping[str, Any]) -> tuple[Any, str | None]:
    """What the decisions read of a node: its fact and whether it declares its zone down."""
    return node_fact(body), zone_declared_down(body)


@dataclass
class FailoverCache:
    """Pods (per tenant), nodes and tenants as last seen; every access under ``_guard``."""

    kube_client: Callable[[], kube.Kube] = kube.shared
    clock: Callable[[], float] = time.time
    pods: dict[str, dict[str, Body]] = field(default_factory=dict)  # tenant -> pod -> body
    nodes: dict[str, Body] = field(default_factory=dict)
    tenants: dict[str, Body] = field(default_factory=dict)
    #: Seconds between fresh lists of a tenant's pods and of the nodes (missed events).
    resync_every: float = field(default_factory=lambda: float(os.environ.get(RESYNC_ENV, "15")))
    _synced: dict[str, float] = field(default_factory=dict)  # tenant -> last full pod list
    _nodes_synced: float | None = None  # when the nodes were last listed
    _guard: threading.Lock = field(default_factory=threading.Lock)

    def _store_pod(self, body: Mapping[str, Any], deleted: bool = False) -> str | None:
        meta = body.get("metadata") or {}
        tenant = (meta.get("labels") or {}).get(labels.TENANT)
        if tenant is None:
            return None
        with self._guard:
            pods = self.pods.setdefault(tenant, {})
            if deleted:
                old = pods.get(meta["name"])
                if old is None or _newer(body, old):
                    pods.pop(meta["name"], None)
            elif _newer(body, pods.get(meta["name"])):
                pods[meta["name"]] = dict(body)
        return tenant

    def _store_tenant(self, body: Mapping[str, Any], deleted: bool = False) -> None:
        name = body["metadata"]["name"]
        with self._guard:
            if deleted:
                self.tenants.pop(name, None)
            elif _newer(body, self.tenants.get(name)):
                self.tenants[name] = dict(body)

    def _store_node(self, body: Mapping[str, Any], deleted: bool = False) -> Body | None:
        """Store a node (or forget it); returns the body it replaces, if any."""
        name = body["metadata"]["name"]
        with self._guard:
            old = self.nodes.get(name)
            if deleted:
                self.nodes.pop(name, None)
            elif _newer(body, old):
                self.nodes[name] = dict(body)
        return old

    def _tenant(self, tenant: str) -> Body | None:
        with self._guard:
            return self.tenants.get(tenant)

    def _tenants_in_zone(self, zone: str) -> list[str]:
        """Tenants with a PBX in the zone, those whose *active* PBX is there first: they are
        the ones that lose calls while they wait in the pool's queue."""
        with self._guard:
            found = [
                t
                for t, pods in self.pods.items()
                if any(
                    (p["metadata"].get("labels") or {}).get(labels.ZONE) == zone
                    for p in pods.values()
                )
            ]
            active = {
                t: ((self.tenants.get(t) or {}).get("status") or {}).get("activeZone")
                for t in found
            }
        return sorted(found, key=lambda t: active[t] != zone)

    def _ensure_synced(self, tenant: str) -> None:
        """Never decide on a partial cache (just started, or resumed after a pause): a PBX
        missing from it would look deleted. List the nodes once, each tenant's pods once."""
        if self._nodes_synced is None:
            self.resync_nodes()
        if tenant not in self._synced:
            self.resync(tenant)

    def resync_nodes(self) -> set[str]:
        """Replace the cached nodes by a fresh list (a node watch gone quiet misses a zone
        loss; pods of a partitioned zone keep saying Ready). Returns the zones whose nodes
        changed meanwhile: their tenants must be decided again."""
        started = self.clock()
        items = self.kube_client().list("v1", "Node")
        with self._guard:
            before = {n: _node_view(b) for n, b in self.nodes.items()}
            fresh = {}
            for node in items:
                name = node["metadata"]["name"]
                old = self.nodes.get(name)
                fresh[name] = node if _newer(node, old) else old
            self.nodes = fresh
            self._nodes_synced = started
            after = {n: _node_view(b) for n, b in fresh.items()}
        return {
            view[0].zone
            for name in before.keys() | after.keys()
            if before.get(name) != after.get(name)
            for view in (before.get(name), after.get(name))
            if view is not None
        }

    def resync(self, tenant: str) -> None:
        """Replace the cached pods of a tenant by a fresh list (missed events, a long pause)."""
        started = self.clock()
        items = self.kube_client().list(
            "v1", "Pod", namespace_of(tenant), f"{labels.TENANT}={tenant}"
        )
        self._synced[tenant] = started
        with self._guard:
            old = self.pods.get(tenant, {})
            fresh = {}
            for pod in items:
                name = pod["metadata"]["name"]
                fresh[name] = pod if _newer(pod, old.get(name)) else old[name]
            self.pods[tenant] = fresh

    def active_zone(self, tenant: str) -> str | None:
        body = self._tenant(tenant) or {}
        return (body.get("status") or {}).get("activeZone")

    def world(self, tenant: str) -> World:
        with self._guard:
            pods = [f for p in self.pods.get(tenant, {}).values() if (f := pod_fact(p))]
            nodes = list(self.nodes.values())
        down = frozenset(z for n in nodes if (z := zone_declared_down(n)))
        return World(tuple(pods), tuple(node_fact(n) for n in nodes), down)

    def fence_stamps(self, tenant: str) -> dict[str, float]:
        """Pod name -> when it was fenced, for the pods of the tenant that carry the stamp."""
        with self._guard:
            return {
                p["metadata"]["name"]: t
                for p in self.pods.get(tenant, {}).values()
                if (t := fenced_at(p)) is not None
            }

    def standbys(self, tenant: str) -> int:
        """Ready PBX that could take over now (healthy, not the active one)."""
        body = self._tenant(tenant)
        if body is None:
            return 0
        state, world = tenant_state(body), self.world(tenant)
        return sum(
            1
            for z in tenant_policy(body).zone_order
            if z != state.active_zone
            and (p := zone_pod(world, z)) is not None
            and pod_health(world, p) is None
        )
