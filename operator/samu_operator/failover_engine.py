"""The failover part at run time: a cache of pods, nodes and tenants fed by watch events,
the pure decision (``core.failover``), and the execution of the fencing plan (``core.fencing``).

Why a cache of its own rather than reading the API on each event: a zone loss touches a
third of all tenants at once, and the decision must come within a second of the signal.
The cache is written through with what each of our own writes returns, and never goes back
to an older resourceVersion, so a late watch echo cannot make it plan twice from stale labels.

The status epoch is moved with a JSON patch that first *tests* the epoch it read: two
operator replicas that both believed they were active (a peering glitch) cannot both commit a
promotion; the loser stops before activating anything.
"""

import contextvars
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from samu_operator import kube
from samu_operator.core import labels
from samu_operator.core.desired import ACTIVE_SERVICE, active_selector, namespace_of
from samu_operator.core.facts import (
    fenced_at,
    node_fact,
    pod_fact,
    rfc3339,
    tenant_policy,
    tenant_state,
    zone_declared_down,
)
from samu_operator.core.failover import (
    Action,
    Decision,
    Reason,
    World,
    decide,
    pod_health,
    zone_pod,
)
from samu_operator.core.fencing import (
    SWITCHOVER_ANNOTATION,
    LabelWrite,
    ServiceWrite,
    StatusWrite,
    Step,
    converge_plan,
    promotion_plan,
    switchover_settled,
)
from samu_operator.model.tenant import KIND

log = logging.getLogger("samu_operator.failover")
Body = dict[str, Any]
#: (tenant body, event type, reason, message) -> posts a Kubernetes Event on the tenant.
Emit = Callable[[Mapping[str, Any], str, str, str], None]


class Halted(Exception):
    """Raised by the test hook ``halt_after_steps``: the operator 'dies' mid-promotion."""


def _rv(body: Mapping[str, Any]) -> int | None:
    value = (body.get("metadata") or {}).get("resourceVersion")
    return int(value) if isinstance(value, str) and value.isdigit() else None


def _newer(new: Mapping[str, Any], old: Mapping[str, Any] | None) -> bool:
    if old is None:
        return True
    a, b = _rv(new), _rv(old)
    return a is None or b is None or a >= b


@dataclass
class Outcome:
    """What one evaluation did (returned for tests and the drill)."""

    decision: Decision
    promoted: bool = False
    seconds: float | None = None


@dataclass
class FailoverEngine:
    kube_client: Callable[[], kube.Kube] = kube.shared
    emit: Emit = lambda body, kind, reason, message: None
    clock: Callable[[], float] = time.time
    workers: int = 16
    name: str = ""  # which operator replica this engine belongs to (logs, tests)
    halt_after_steps: int | None = None  # test hook: stop executing a plan after N writes
    halted: bool = False
    pods: dict[str, dict[str, Body]] = field(default_factory=dict)  # tenant -> pod -> body
    nodes: dict[str, Body] = field(default_factory=dict)
    tenants: dict[str, Body] = field(default_factory=dict)
    signal_at: dict[str, float] = field(default_factory=dict)  # tenant -> first bad signal
    failed: set[str] = field(default_factory=set)  # tenants reported without a standby
    failed_message: dict[str, str] = field(default_factory=dict)
    services: dict[str, int | None] = field(default_factory=dict)  # tenant -> Service epoch
    resync_every: float = 15.0
    _synced: dict[str, float] = field(default_factory=dict)  # tenant -> last full pod list
    _nodes_synced: bool = False
    _dirty: set[str] = field(default_factory=set)
    _dirty_since: dict[str, float] = field(default_factory=dict)
    on_promoted: list[Callable[[str, Decision, float | None], None]] = field(default_factory=list)
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _guard: threading.Lock = field(default_factory=threading.Lock)
    _pool: ThreadPoolExecutor | None = None

    # --- cache, fed by watch events -------------------------------------------------------
    def _lock(self, tenant: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(tenant, threading.Lock())

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

    def on_pod(self, event: str | None, body: Mapping[str, Any]) -> None:
        received = self.clock()
        tenant = self._store_pod(body, deleted=event == "DELETED")
        if tenant is not None:
            self.submit(tenant, received)

    def on_node(self, event: str | None, body: Mapping[str, Any]) -> None:
        received = self.clock()
        name = body["metadata"]["name"]
        with self._guard:
            old = self.nodes.get(name)
            if event == "DELETED":
                self.nodes.pop(name, None)
            elif _newer(body, old):
                self.nodes[name] = dict(body)
        before = (node_fact(old), zone_declared_down(old)) if old else None
        after = None if event == "DELETED" else (node_fact(body), zone_declared_down(body))
        if before == after:
            return
        zone = (after or before)[0].zone  # type: ignore[index]
        tenants = self._tenants_in_zone(zone)
        log.info(
            "node %s of zone %s changed: %s; %d tenants to check", name, zone, after, len(tenants)
        )
        self.evaluate_many(tenants, received)

    def on_tenant(self, event: str | None, body: Mapping[str, Any]) -> None:
        received = self.clock()
        self._store_tenant(body, deleted=event == "DELETED")
        if event != "DELETED" and not (body.get("metadata") or {}).get("deletionTimestamp"):
            self.submit(body["metadata"]["name"], received)

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
        if not self._nodes_synced:
            for node in self.kube_client().list("v1", "Node"):
                with self._guard:
                    if _newer(node, self.nodes.get(node["metadata"]["name"])):
                        self.nodes[node["metadata"]["name"]] = node
            self._nodes_synced = True
        if tenant not in self._synced:
            self.resync(tenant)

    def recheck(self, tenant: str) -> None:
        """The periodic safety net: a fresh pod list now and then, then a decision."""
        if self.clock() - self._synced.get(tenant, 0.0) >= self.resync_every:
            self.resync(tenant)
        self.evaluate(tenant)

    def active_zone(self, tenant: str) -> str | None:
        with self._guard:
            body = self.tenants.get(tenant) or {}
        return (body.get("status") or {}).get("activeZone")

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

    # --- facts and decision ---------------------------------------------------------------
    def world(self, tenant: str) -> World:
        with self._guard:
            pods = [f for p in self.pods.get(tenant, {}).values() if (f := pod_fact(p))]
            nodes = list(self.nodes.values())
        down = frozenset(z for n in nodes if (z := zone_declared_down(n)))
        return World(tuple(pods), tuple(node_fact(n) for n in nodes), down)

    def evaluate_many(self, tenants: Iterable[str], received: float) -> None:
        """Many tenants at once (a node or zone lost): in parallel, each under its own lock."""
        for tenant in tenants:
            self.submit(tenant, received)

    def submit(self, tenant: str, received: float | None = None) -> None:
        """Evaluate in the engine's own thread pool and return at once.

        The handlers call this from Kopf's event loop: the decision never waits in the queue
        of Kopf's shared executor behind slower handlers (reconciliations, re-checks).
        """
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="failover")
        context = contextvars.copy_context()  # kopf.event needs the handler's context
        self._pool.submit(context.run, self.evaluate, tenant, received)

    def submit_recheck(self, tenant: str) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="failover")
        self._pool.submit(contextvars.copy_context().run, self.recheck, tenant)

    def evaluate(self, tenant: str, received: float | None = None) -> Outcome | None:
        """Decide for one tenant and carry the decision out; safe to call at any time.

        Never waits for another evaluation of the same tenant: it marks the tenant dirty and
        returns, and the running one evaluates once more when it is done. Blocking here would
        park Kopf's worker threads behind a slow promotion while other tenants' signals queue.
        """
        if self.halted:
            return None  # the test hook made this operator 'die': it does nothing any more
        lock = self._lock(tenant)
        if not lock.acquire(blocking=False):
            with self._guard:
                self._dirty.add(tenant)
                self._dirty_since.setdefault(tenant, received or self.clock())
            return None
        outcome = None
        try:
            while True:
                try:
                    outcome = self._evaluate(
                        tenant, received if received is not None else self.clock()
                    )
                except Halted:
                    log.warning("%s: halted mid-promotion (test hook)", tenant)
                    return None
                except kube.KubeError as exc:
                    log.warning(
                        "failover of %s: API error %s; retried on the next event", tenant, exc
                    )
                except Exception:
                    log.exception("failover of %s failed; retried on the next event", tenant)
                with self._guard:
                    if tenant not in self._dirty:
                        return outcome
                    self._dirty.discard(tenant)
                    received = self._dirty_since.pop(tenant, None)
        finally:
            lock.release()

    def _evaluate(self, tenant: str, received: float) -> Outcome | None:
        with self._guard:
            body = self.tenants.get(tenant)
        if body is None or (body.get("metadata") or {}).get("deletionTimestamp"):
            return None
        self._ensure_synced(tenant)
        policy, state = tenant_policy(body), tenant_state(body)
        world = self.world(tenant)
        now = self.clock()
        decision = decide(policy, state, world, now)
        outcome = Outcome(decision)
        if decision.action == Action.KEEP:
            self.signal_at.pop(tenant, None)
            self.failed.discard(tenant)
        elif state.active_zone is not None:  # an active PBX existed: this is a failure
            self.signal_at.setdefault(tenant, received)
        if decision.action == Action.PROMOTE:
            outcome = self._promote(tenant, body, state, world, decision)
        elif decision.action == Action.HOLD and decision.retry_after is not None:
            context = contextvars.copy_context()  # Kopf's, for the Events of the retry
            retry = threading.Timer(decision.retry_after + 0.05, context.run, (self.submit, tenant))
            retry.daemon = True
            retry.start()
        elif decision.reason == Reason.NO_STANDBY and tenant not in self.failed:
            self.failed.add(tenant)
            self.failed_message[tenant] = decision.message
            for hook in self.on_promoted:
                hook(tenant, decision, None)
            self._emit(body, "Warning", Reason.NO_STANDBY.value, decision.message)
        if decision.reason == Reason.SWITCHOVER_REJECTED:
            self._emit(body, "Warning", decision.reason.value, decision.message)
        if switchover_settled(state, decision):
            self._clear_switchover(tenant)
        with self._guard:
            body = self.tenants.get(tenant, body)
        fresh_state, fresh_world = tenant_state(body), self.world(tenant)
        with self._guard:
            stamps = {
                p["metadata"]["name"]: t
                for p in self.pods.get(tenant, {}).values()
                if (t := fenced_at(p)) is not None
            }
        service_epoch = self._service_epoch(tenant) if fresh_state.epoch else None
        steps = converge_plan(policy, fresh_state, fresh_world, service_epoch, now, stamps)
        self._run(tenant, body, steps)
        return outcome

    def _emit(self, body: Body, kind: str, reason: str, message: str) -> None:
        """An Event is visibility, never a reason to stop a failover half-way."""
        try:
            self.emit(body, kind, reason, message)
        except Exception:
            log.exception("%s: Event %s not posted", body["metadata"]["name"], reason)

    # --- execution --------------------------------------------------------------------------
    def _promote(
        self, tenant: str, body: Body, state: Any, world: World, decision: Decision
    ) -> Outcome:
        now = self.clock()
        signal = self.signal_at.get(tenant, now)
        steps = promotion_plan(state, world, decision, now)
        record = None
        if decision.moves and decision.from_zone is not None:
            # 'seconds' is completed at the commit (signal -> epoch committed, old PBX fenced).
            record = {
                "from": decision.from_zone,
                "to": decision.to_zone,
                "at": rfc3339(now),
                "seconds": 0.0,
                "reason": decision.reason.value,
                "_signal": signal,
            }
        self._run(tenant, body, steps, state.epoch, record)
        seconds = max(0.0, self.clock() - signal)  # to the new active selected (metrics)
        log.info(
            "%s: %s -> %s (%s), epoch %d, %.3f s after the signal, writes took %.3f s",
            tenant,
            decision.from_zone,
            decision.to_zone,
            decision.reason.value,
            state.epoch + 1,
            self.clock() - signal,
            self.clock() - now,
        )
        self.signal_at.pop(tenant, None)
        self.failed.discard(tenant)
        for hook in self.on_promoted:
            hook(tenant, decision, seconds if record else None)
        kind = "Normal" if decision.planned or decision.reason == Reason.INITIAL else "Warning"
        self._emit(
            body, kind, decision.reason.value, f"{decision.message}, epoch {state.epoch + 1}"
        )
        return Outcome(decision, promoted=True, seconds=seconds if record else None)

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
        """Compare-and-swap of status.epoch: fails (422) if another writer moved it first."""
        status = body.get("status")
        ops: list[dict[str, Any]] = []
        if status is None:
            ops.append({"op": "add", "path": "/status", "value": {}})
        elif "epoch" in status:
            ops.append({"op": "test", "path": "/status/epoch", "value": epoch_read})
        ops.append({"op": "add", "path": "/status/epoch", "value": step.epoch})
        ops.append({"op": "add", "path": "/status/activeZone", "value": step.active_zone})
        if record is not None:
            value = {k: v for k, v in record.items() if k != "_signal"}
            value["seconds"] = round(max(0.0, self.clock() - record["_signal"]), 3)
            ops.append({"op": "add", "path": "/status/lastFailover", "value": value})
        ref = kube.Ref(kube.TENANT_API, KIND, None, tenant)
        result = client._call(  # the shared client has merge patches only; this one must test
            "PATCH", ref.path("status"), body=ops, content_type="application/json-patch+json"
        )
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

    def standbys(self, tenant: str) -> int:
        """Ready PBX that could take over now (healthy, not the active one)."""
        with self._guard:
            body = self.tenants.get(tenant)
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

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
