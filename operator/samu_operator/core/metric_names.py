"""The Prometheus metrics the operator exports: one table shared by code, alerts and dashboard.

Alert rules and the Grafana dashboard in ``helm/samu-operator`` query these names; a test checks
that every metric they use is declared here (or by the SIP edge's Kamailio config), so a rename
in one place cannot silently blind the on-call engineer. ``samu_operator.metrics`` builds its
prometheus-client collectors from this table.

Names are the *exposed* ones: a counter ends in ``_total`` (prometheus-client adds the suffix
when the constructor name lacks it), a histogram exposes ``_bucket``, ``_sum`` and ``_count``.
"""

from dataclasses import dataclass
from typing import Literal

MetricKind = Literal["counter", "gauge", "histogram"]


@dataclass(frozen=True)
class MetricSpec:
    """One metric as Prometheus sees it."""

    name: str
    kind: MetricKind
    labels: tuple[str, ...]
    help: str

    @property
    def constructor_name(self) -> str:
        """The name to give prometheus-client (it appends ``_total`` to counters itself)."""
        return self.name.removesuffix("_total") if self.kind == "counter" else self.name

    @property
    def series_names(self) -> tuple[str, ...]:
        """Every series name this metric exposes (what PromQL can select)."""
        if self.kind == "histogram":
            return (f"{self.name}_bucket", f"{self.name}_sum", f"{self.name}_count")
        return (self.name,)


# Label names, shared so that alerts and dashboards group by the same words.
TENANT = "tenant"
PHASE = "phase"
ZONE = "zone"
FROM_ZONE = "from_zone"
TO_ZONE = "to_zone"
REASON = "reason"

TENANTS_BY_PHASE = MetricSpec(
    "samu_tenants", "gauge", (PHASE,), "SamuTenants by phase (Ready, Degraded, FailingOver, Failed)"
)
TENANT_PHASE = MetricSpec(
    "samu_tenant_phase",
    "gauge",
    (TENANT, PHASE),
    "1 for the current phase of each tenant, 0 for the others",
)
RECONCILE_DURATION = MetricSpec(
    "samu_reconcile_duration_seconds", "histogram", (), "time to reconcile one SamuTenant"
)
RECONCILE_ERRORS = MetricSpec(
    "samu_reconcile_errors_total", "counter", (REASON,), "failed reconciliations, by reason"
)
FAILOVERS = MetricSpec(
    "samu_failovers_total",
    "counter",
    (TENANT, FROM_ZONE, TO_ZONE, REASON),
    "promotions of a standby PBX (unplanned failovers and planned switchovers)",
)
FAILOVER_DURATION = MetricSpec(
    "samu_failover_duration_seconds",
    "histogram",
    (TENANT,),
    "seconds from the failure signal to the new active PBX",
)
FAILOVER_FAILURES = MetricSpec(
    "samu_failover_failures_total",
    "counter",
    (TENANT, REASON),
    "failovers that could not promote any standby (the tenant is left without an active PBX)",
)
ACTIVE_ZONE = MetricSpec(
    "samu_tenant_active_zone", "gauge", (TENANT, ZONE), "1 for the zone of the active PBX"
)
STANDBYS = MetricSpec(
    "samu_tenant_standbys", "gauge", (TENANT,), "ready standby PBX of each tenant"
)
OPERATOR_LEADING = MetricSpec(
    "samu_operator_leading",
    "gauge",
    (),
    "1 on the operator replica that is active (Kopf peering), 0 on a paused one",
)

ALL: tuple[MetricSpec, ...] = (
    TENANTS_BY_PHASE,
    TENANT_PHASE,
    RECONCILE_DURATION,
    RECONCILE_ERRORS,
    FAILOVERS,
    FAILOVER_DURATION,
    FAILOVER_FAILURES,
    ACTIVE_ZONE,
    STANDBYS,
    OPERATOR_LEADING,
)


def series_names() -> frozenset[str]:
    """Every series name the operator exposes."""
    return frozenset(name for spec in ALL for name in spec.series_names)
