"""Kopf handlers of the failover part: watch events in, ``FailoverEngine`` decides and acts.

They react to the signals themselves (pod readiness and deletion, node NotReady/unreachable
condition or taint, a zone declared down), never to evictions, which Kubernetes would only
start minutes later. Operator HA is Kopf peering: each replica runs with a distinct
``--priority``; the lower one pauses while the higher one is alive and resumes when its
peering record disappears (clean stop) or expires (``settings.peering.lifetime``, a few
seconds: a zone loss leaves no time to say goodbye).
"""

import os
import time
from collections.abc import Mapping
from typing import Any

import kopf

from samu_operator import metrics
from samu_operator.core import labels as lbl
from samu_operator.core.failover import Decision, Reason
from samu_operator.failover_engine import FailoverEngine
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


ENGINE = FailoverEngine(emit=_emit)
ENGINE.on_promoted.append(_observe)
metrics.OPERATOR_LEADING.set_function(lambda: 1.0 if time.monotonic() - _last_tick < 10 else 0.0)


def _failover_facts(body: Mapping[str, Any]) -> tuple[str | None, bool]:
    """For the onboarding part's status rule: active zone, and is a failover under way."""
    status = body.get("status") or {}
    name = (body.get("metadata") or {}).get("name", "")
    return status.get("activeZone"), name in ENGINE.signal_at and name not in ENGINE.failed


state.set_failover_facts(_failover_facts)


@kopf.on.startup()
def configure_peering(settings: kopf.OperatorSettings, **_: Any) -> None:
    """Peering records expire after a few seconds, so a standby replica takes over fast."""
    settings.peering.lifetime = int(os.environ.get(PEERING_LIFETIME_ENV, "4"))


@kopf.on.event("v1", "pods", labels={lbl.COMPONENT: lbl.PBX, lbl.TENANT: kopf.PRESENT})
def pbx_pod_event(type: str | None, body: kopf.Body, **_: Any) -> None:
    ENGINE.on_pod(type, body)


@kopf.on.event("v1", "nodes")
def node_event(type: str | None, body: kopf.Body, **_: Any) -> None:
    ENGINE.on_node(type, body)


@kopf.on.event(*TENANTS)
def tenant_event(type: str | None, body: kopf.Body, **_: Any) -> None:
    ENGINE.on_tenant(type, body)


@kopf.timer(*TENANTS, interval=float(os.environ.get(RECHECK_ENV, "2")))
def failover_recheck(name: str, **_: Any) -> None:
    """Flap-guard retries, unfencing after the interval, and a re-list against missed events."""
    global _last_tick
    _last_tick = time.monotonic()
    ENGINE.resync(name)
    ENGINE.evaluate(name)
    with ENGINE._guard:
        body = ENGINE.tenants.get(name) or {}
    metrics.set_active(name, (body.get("status") or {}).get("activeZone"), ENGINE.standbys(name))
