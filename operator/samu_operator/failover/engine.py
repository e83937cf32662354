"""The failover part at run time: watch events in, the pure decision (``core.failover``)
made for each tenant touched, and its fencing plan (``core.fencing``) carried out.

This module holds the scheduling: the engine's own thread pool, one evaluation at a time per
tenant (a busy tenant is marked dirty and evaluated once more, never waited for), retries of
held decisions, and the bookkeeping of signals and failures. The cached view of pods, nodes
and tenants is in ``failover.cache``; the API writes (fence, epoch compare-and-swap, labels,
Service selector, switchover clearing, Events) are in ``failover.writes``.
"""

import contextvars
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from samu_operator import kube
from samu_operator.core.facts import (
    node_fact,
    rfc3339,
    tenant_policy,
    tenant_state,
    zone_declared_down,
)
from samu_operator.core.failover import Action, Decision, Reason, World, decide
from samu_operator.core.fencing import converge_plan, promotion_plan, switchover_settled
from samu_operator.failover.cache import Body
from samu_operator.failover.writes import Conflict, FailoverWriter, Halted

log = logging.getLogger("samu_operator.failover")
#: Decisions taken again at once after a failed compare-and-swap (then: on the next event).
MAX_CONFLICTS = 3


def _version(body: Mapping[str, Any] | None) -> str | None:
    return ((body or {}).get("metadata") or {}).get("resourceVersion")


@dataclass
class Outcome:
    """What one evaluation did (returned for tests and the drill)."""

    decision: Decision
    promoted: bool = False
    seconds: float | None = None


@dataclass
class FailoverEngine(FailoverWriter):
    """Decides for each tenant an event touches, in its own pool, and carries it out."""

    workers: int = 16
    name: str = ""  # which operator replica this engine belongs to (logs, tests)
    signal_at: dict[str, float] = field(default_factory=dict)  # tenant -> first bad signal
    failed: set[str] = field(default_factory=set)  # tenants reported without a standby
    failed_message: dict[str, str] = field(default_factory=dict)
    _dirty: set[str] = field(default_factory=set)
    _dirty_since: dict[str, float] = field(default_factory=dict)
    on_promoted: list[Callable[[str, Decision, float | None], None]] = field(default_factory=list)
    _locks: dict[str, threading.Lock] = field(default_factory=dict)
    _pool: ThreadPoolExecutor | None = None

    # --- watch events in --------------------------------------------------------------------
    def _lock(self, tenant: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(tenant, threading.Lock())

    def on_pod(self, event: str | None, body: Mapping[str, Any]) -> None:
        received = self.clock()
        tenant = self._store_pod(body, deleted=event == "DELETED")
        if tenant is not None:
            self.submit(tenant, received)

    def on_node(self, event: str | None, body: Mapping[str, Any]) -> None:
        received = self.clock()
        name = body["metadata"]["name"]
        old = self._store_node(body, deleted=event == "DELETED")
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

    def recheck(self, tenant: str) -> None:
        """The periodic safety net: fresh pod and node lists now and then, then a decision."""
        now = self.clock()
        if now - (self._nodes_synced or 0.0) >= self.resync_every:
            self._nodes_synced = now  # one list for all the tenants' re-checks
            for zone in self.resync_nodes():
                log.info("nodes of zone %s changed unseen by the watch", zone)
                self.evaluate_many(self._tenants_in_zone(zone), now)
        if now - self._synced.get(tenant, 0.0) >= self.resync_every:
            self.resync(tenant)
        self.evaluate(tenant)

    # --- scheduling -------------------------------------------------------------------------
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
        conflicts = 0
        try:
            while True:
                version = _version(self._tenant(tenant))
                try:
                    outcome = self._evaluate(
                        tenant, received if received is not None else self.clock()
                    )
                except Halted:
                    log.warning("%s: halted mid-promotion (test hook)", tenant)
                    return None
                except Conflict as exc:
                    conflicts += 1
                    log.info("failover of %s: %s; deciding again", tenant, exc)
                    if _version(self._tenant(tenant)) != version and conflicts <= MAX_CONFLICTS:
                        continue  # the change is in the cache already: decide again now
                    # else its watch event is on its way, and submits a new decision
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
        body = self._tenant(tenant)
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
        stamps = self.fence_stamps(tenant)
        service_epoch = self._service_epoch(tenant) if fresh_state.epoch else None
        steps = converge_plan(policy, fresh_state, fresh_world, service_epoch, now, stamps)
        self._run(tenant, body, steps)
        return outcome

    # --- promotion --------------------------------------------------------------------------
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

    def shutdown(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
