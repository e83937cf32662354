"""Kopf handlers of the failover part: watch events in, ``FailoverEngine`` decides and acts.

They react to the signals themselves (pod readiness and deletion, node NotReady/unreachable
condition or taint, a zone declared down), never to evictions, which Kubernetes would only
start minutes later. Operator HA is Kopf peering: each replica runs with a distinct
``--priority``; the lower one pauses while the higher one is alive and resumes when its
peering record disappears (clean stop) or expires (``settings.peering.lifetime``, a few
seconds: a zone loss leaves no time to say goodbye).
"""

import logging
import os
import time
from collections.abc import Mapping
from typing import Any

import kopf

from samu_operator import kube, metrics
from samu_operator.core import labels as lbl
from samu_operator.core.facts import tenant_policy
from samu_operator.core.failover import Decision, Reason, zone_pod
from samu_operator.core.status import Problem, ZoneFact
from samu_operator.failover.engine import FailoverEngine
from samu_operator.handlers import state
from samu_operator.model.tenant import API_GROUP, API_VERSION, PLURAL

TENANTS = (API_GROUP, API_VERSION, PLURAL)
RECHECK_ENV = "SAMU_FAILOVER_RECHECK_SECONDS"
PEERING_LIFETIME_ENV = "SAMU_OPERATOR_PEERING_LIFETIME"
#: The timer ticks only on the active replica: samu_operator_leading is 1 while they come.
_last_tick = 0.0


def _emit(body: Mapping[str, Any], kind: str, reason: str, message: str) -> None:
    meta = body.get("metadata") or {}
    ref = {
        "apiVersion": body.get("apiVersion"),
        "kind": body.get("kind"),
        "metadata": {"name": meta.get("name"), "uid": meta.get("uid")},
    }
    kopf.event(ref, type=kind, reason=reason, message=message)


def _observe(tenant: str, decision: Decision, seconds: float | None) -> None:
    if decision.reason == Reason.NO_STANDBY:
        metrics.record_failover_failure(tenant, decision.reason.value)
    elif seconds is not None and decision.from_zone and decision.to_zone:
        metrics.record_failover(
            tenant, decision.from_zone, decision.to_zone, decision.reason.value, seconds
        )


#: The engines of the operators started in this process, newest last (tests reach in here;
#: in a pod there is exactly one). Each operator keeps its own in its ``memo``: two operator
#: instances in one test process must not share a cache.
engines: list[FailoverEngine] = []
metrics.OPERATOR_LEADING.set_function(lambda: 1.0 if time.monotonic() - _last_tick < 10 else 0.0)


def _engine(memo: Any) -> FailoverEngine:
    return memo["failover"]


@kopf.on.startup()
def start_failover(settings: kopf.OperatorSettings, memo: kopf.Memo, **_: Any) -> None:
    """A fresh engine per operator run; peering records that expire after a few seconds,
    so that a standby replica takes over fast when the active one's zone dies."""
    settings.peering.lifetime = int(os.environ.get(PEERING_LIFETIME_ENV, "4"))
    engine = FailoverEngine(emit=_emit, name=str(memo.get("replica", "")))
    engine.on_promoted.append(_observe)
    # A promotion is followed by pod events that refresh the phase anyway; a NoStandby verdict
    # may not be, and it must show at once (phase Failed).
    engine.on_promoted.append(
        lambda tenant, decision, _: (
            decision.reason == Reason.NO_STANDBY and _refresh_phase(engine, tenant)
        )
    )
    memo["failover"] = engine
    engines.append(engine)

    def facts(body: Mapping[str, Any]) -> tuple[str | None, bool, Problem | None]:
        """For the onboarding part's status rule: active zone, failover under way, and
        the no-standby problem that makes the phase Failed."""
        status = body.get("status") or {}
        name = (body.get("metadata") or {}).get("name", "")
        failed = engine.failed_message.get(name) if name in engine.failed else None
        problem = Problem(Reason.NO_STANDBY.value, failed) if failed else None
        failing = name in engine.signal_at and name not in engine.failed
        return status.get("activeZone"), failing, problem

    state.set_failover_facts(facts)


def _refresh_phase(engine: FailoverEngine, tenant: str) -> None:
    """Rewrite phase/conditions through the onboarding part's rule and writer right after a
    NoStandby verdict, instead of waiting for its next event."""
    with engine._guard:
        body = engine.tenants.get(tenant)
    if body is None or (body.get("status") or {}).get("observedGeneration") is None:
        return  # not reconciled yet: the onboarding part writes the first status
    world = engine.world(tenant)
    zones = []
    for zone in tenant_policy(body).zone_order:
        pod = zone_pod(world, zone)
        zones.append(ZoneFact(zone, pod.name if pod else None, bool(pod and pod.ready)))
    roles = {p.zone: p.role for p in world.pods if p.role and not p.deleted}
    try:
        state.write_status(body, zones, state.previous_problem(body), None, roles)
    except kube.KubeError as exc:
        logging.getLogger(__name__).warning("status of %s not refreshed: %s", tenant, exc)


@kopf.on.cleanup()
def stop_failover(memo: kopf.Memo, **_: Any) -> None:
    _engine(memo).shutdown()


@kopf.on.event("v1", "pods", labels={lbl.COMPONENT: lbl.PBX, lbl.TENANT: kopf.PRESENT})
async def pbx_pod_event(type: str | None, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    _engine(memo).on_pod(type, body)


@kopf.on.event("v1", "nodes")
async def node_event(type: str | None, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    _engine(memo).on_node(type, body)


@kopf.on.event(*TENANTS)
async def tenant_event(type: str | None, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    _engine(memo).on_tenant(type, body)


@kopf.timer(*TENANTS, interval=float(os.environ.get(RECHECK_ENV, "5")))
async def failover_recheck(name: str, memo: kopf.Memo, **_: Any) -> None:
    """Flap-guard retries, unfencing after the interval, and a re-list against missed events."""
    global _last_tick
    _last_tick = time.monotonic()
    engine = _engine(memo)
    engine.submit_recheck(name)
    metrics.set_active(name, engine.active_zone(name), engine.standbys(name))
