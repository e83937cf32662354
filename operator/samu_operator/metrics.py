"""Prometheus collectors of the operator, built from the shared table in core/metric_names.py.

Served on the operator's metrics port (``SAMU_OPERATOR_METRICS_PORT``, default 8080; 0 turns it
off, as tests do) by prometheus-client's own HTTP server. The failover part appends its
collectors here too, from the same table.
"""

import contextlib
import os
import threading
from collections import Counter as Tally

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from samu_operator.core import metric_names as names

PORT_ENV = "SAMU_OPERATOR_METRICS_PORT"
DEFAULT_PORT = 8080

REGISTRY = CollectorRegistry()
PHASES = ("Pending", "Ready", "Degraded", "FailingOver", "Failed")

TENANTS_BY_PHASE = Gauge(
    names.TENANTS_BY_PHASE.constructor_name,
    names.TENANTS_BY_PHASE.help,
    names.TENANTS_BY_PHASE.labels,
    registry=REGISTRY,
)
TENANT_PHASE = Gauge(
    names.TENANT_PHASE.constructor_name,
    names.TENANT_PHASE.help,
    names.TENANT_PHASE.labels,
    registry=REGISTRY,
)
RECONCILE_DURATION = Histogram(
    names.RECONCILE_DURATION.constructor_name,
    names.RECONCILE_DURATION.help,
    names.RECONCILE_DURATION.labels,
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
RECONCILE_ERRORS = Counter(
    names.RECONCILE_ERRORS.constructor_name,
    names.RECONCILE_ERRORS.help,
    names.RECONCILE_ERRORS.labels,
    registry=REGISTRY,
)

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

FAILOVERS = Counter(
    names.FAILOVERS.constructor_name,
    names.FAILOVERS.help,
    names.FAILOVERS.labels,
    registry=REGISTRY,
)
FAILOVER_DURATION = Histogram(
    names.FAILOVER_DURATION.constructor_name,
    names.FAILOVER_DURATION.help,
    names.FAILOVER_DURATION.labels,
    buckets=(0.05, 0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30, 60),
    registry=REGISTRY,
)
FAILOVER_FAILURES = Counter(
    names.FAILOVER_FAILURES.constructor_name,
    names.FAILOVER_FAILURES.help,
    names.FAILOVER_FAILURES.labels,
    registry=REGISTRY,
)
ACTIVE_ZONE = Gauge(
    names.ACTIVE_ZONE.constructor_name,
    names.ACTIVE_ZONE.help,
    names.ACTIVE_ZONE.labels,
    registry=REGISTRY,
)
STANDBYS = Gauge(
    names.STANDBYS.constructor_name, names.STANDBYS.help, names.STANDBYS.labels, registry=REGISTRY
)
OPERATOR_LEADING = Gauge(
    names.OPERATOR_LEADING.constructor_name,
    names.OPERATOR_LEADING.help,
    names.OPERATOR_LEADING.labels,
    registry=REGISTRY,
)
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
