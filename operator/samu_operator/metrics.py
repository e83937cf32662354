"""Prometheus collectors of the operator, built from the shared table in core/metric_names.py.

Served on the operator's metrics port (``SAMU_OPERATOR_METRICS_PORT``, default 8080; 0 turns it
off, as tests do) by prometheus-client's own HTTP server. The failover part appends its
collectors here too, from the same table.
"""

import contextlib
import os
import threading
from collections import Counter as Tally
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from samu_operator.core import metric_names as names

PORT_ENV = "SAMU_OPERATOR_METRICS_PORT"
DEFAULT_PORT = 8080

REGISTRY = CollectorRegistry()

_Collector = TypeVar("_Collector", Counter, Gauge, Histogram)


def _collector(kind: type[_Collector], spec: names.MetricSpec, **extra: Any) -> _Collector:
    """One collector of the shared table, in this process's registry; refuses a collector of
    another kind than the table says (the alerts' PromQL depends on it)."""
    if kind.__name__.lower() != spec.kind:
        raise TypeError(f"{spec.name} is a {spec.kind} in core/metric_names.py, not a {kind}")
    return kind(spec.constructor_name, spec.help, spec.labels, registry=REGISTRY, **extra)


PHASES = ("Pending", "Ready", "Degraded", "FailingOver", "Failed")

TENANTS_BY_PHASE = _collector(Gauge, names.TENANTS_BY_PHASE)
TENANT_PHASE = _collector(Gauge, names.TENANT_PHASE)
RECONCILE_DURATION = _collector(
    Histogram,
    names.RECONCILE_DURATION,
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
RECONCILE_ERRORS = _collector(Counter, names.RECONCILE_ERRORS)

_phases: dict[str, str] = {}
_lock = threading.Lock()
_served = False


def set_phase(tenant: str, phase: str | None) -> None:
    """Record a tenant's phase (None: the tenant is gone) and refresh the per-phase counts."""
    with _lock:
        if phase is None:
            _phases.pop(tenant, None)
            for p in PHASES:
                with contextlib.suppress(KeyError):
                    TENANT_PHASE.remove(tenant, p)
        else:
            _phases[tenant] = phase
            for p in PHASES:
                TENANT_PHASE.labels(tenant, p).set(1 if p == phase else 0)
        counts = Tally(_phases.values())
        for p in PHASES:
            TENANTS_BY_PHASE.labels(p).set(counts.get(p, 0))


def serve(port: int | None = None, addr: str = "0.0.0.0") -> int:
    """Start the metrics HTTP server once per process; returns the port (0: not served)."""
    global _served
    if port is None:
        port = int(os.environ.get(PORT_ENV, DEFAULT_PORT))
    with _lock:
        if _served or port == 0:
            return 0 if port == 0 else port
        start_http_server(port, addr=addr, registry=REGISTRY)
        _served = True
        return port


# --- the failover part (names from core/metric_names.py, shared with alerts and dashboard) ---

FAILOVERS = _collector(Counter, names.FAILOVERS)
FAILOVER_DURATION = _collector(
    Histogram,
    names.FAILOVER_DURATION,
    buckets=(0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60),
)
FAILOVER_FAILURES = _collector(Counter, names.FAILOVER_FAILURES)
ACTIVE_ZONE = _collector(Gauge, names.ACTIVE_ZONE)
STANDBYS = _collector(Gauge, names.STANDBYS)
OPERATOR_LEADING = _collector(Gauge, names.OPERATOR_LEADING)
_active_zones: dict[str, str] = {}


def record_failover(tenant: str, from_zone: str, to_zone: str, reason: str, seconds: float) -> None:
    FAILOVERS.labels(tenant, from_zone, to_zone, reason).inc()
    FAILOVER_DURATION.labels(tenant).observe(seconds)


def record_failover_failure(tenant: str, reason: str) -> None:
    FAILOVER_FAILURES.labels(tenant, reason).inc()


def set_active(tenant: str, zone: str | None, standbys: int) -> None:
    """1 for the active zone of a tenant (the previous zone's series is removed)."""
    with _lock:
        old = _active_zones.pop(tenant, None)
        if old is not None and old != zone:
            ACTIVE_ZONE.remove(tenant, old)
        if zone is not None:
            _active_zones[tenant] = zone
            ACTIVE_ZONE.labels(tenant, zone).set(1)
    STANDBYS.labels(tenant).set(standbys)
