"""The shipper's Prometheus collectors, built from ``core.metric_names`` on a registry of its
own (served as Prometheus text on ``SAMU_SHIPPER_METRICS_PORT``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

from samu_operator.core.metric_names import MetricSpec
from samu_recordings.core import metric_names as m
from samu_recordings.core.alerts import Health


class ShipperMetrics:
    def __init__(self, source: str, zone: str) -> None:
        self.registry = CollectorRegistry()
        labels = {m.SOURCE: source, m.ZONE: zone}

        def make(spec: MetricSpec) -> Counter | Gauge:
            kind = Counter if spec.kind == "counter" else Gauge
            return kind(
                spec.constructor_name, spec.help, spec.labels, registry=self.registry
            ).labels(**labels)

        self.backlog_bytes = make(m.BACKLOG_BYTES)
        self.oldest_unshipped = make(m.OLDEST_UNSHIPPED)
        self.upload_failures = make(m.UPLOAD_FAILURES)
        self.chunks_shipped = make(m.CHUNKS_SHIPPED)
        self.recordings_finalised = make(m.RECORDINGS_FINALISED)
        self.disk_free_ratio = make(m.DISK_FREE_RATIO)
        self.disk_write_failures = make(m.DISK_WRITE_FAILURES)
        self.last_health: Health | None = None

    def publish(self, health: Health) -> None:
        self.last_health = health
        self.backlog_bytes.set(health.backlog_bytes)
        self.oldest_unshipped.set(health.oldest_unshipped_seconds)
        self.disk_free_ratio.set(health.disk_free_ratio)

    def serve(self, port: int) -> None:
        start_http_server(port, registry=self.registry)
