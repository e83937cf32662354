"""The Prometheus metrics the recording shipper exports (alerts and tests read this table)."""

from samu_operator.core.metric_names import MetricSpec

SOURCE, ZONE = "source", "zone"
LABELS = (SOURCE, ZONE)

BACKLOG_BYTES = MetricSpec(
    "samu_recordings_backlog_bytes",
    "gauge",
    LABELS,
    "recorded bytes not yet confirmed by the store",
)
OLDEST_UNSHIPPED = MetricSpec(
    "samu_recordings_oldest_unshipped_seconds",
    "gauge",
    LABELS,
    "age of the oldest recorded audio not yet confirmed by the store",
)
UPLOAD_FAILURES = MetricSpec(
    "samu_recordings_upload_failures_total",
    "counter",
    LABELS,
    "uploads the store refused or missed",
)
CHUNKS_SHIPPED = MetricSpec(
    "samu_recordings_chunks_shipped_total", "counter", LABELS, "chunks confirmed by the store"
)
RECORDINGS_FINALISED = MetricSpec(
    "samu_recordings_finalised_total",
    "counter",
    LABELS,
    "recordings complete in the store (WAV and index written)",
)
DISK_FREE_RATIO = MetricSpec(
    "samu_recordings_disk_free_ratio", "gauge", LABELS, "free share of the recording volume"
)
DISK_WRITE_FAILURES = MetricSpec(
    "samu_recordings_disk_write_failures_total",
    "counter",
    LABELS,
    "writes to the recording volume that failed (disk full)",
)

ALL = (
    BACKLOG_BYTES,
    OLDEST_UNSHIPPED,
    UPLOAD_FAILURES,
    CHUNKS_SHIPPED,
    RECORDINGS_FINALISED,
    DISK_FREE_RATIO,
    DISK_WRITE_FAILURES,
)


def series_names() -> frozenset[str]:
    return frozenset(name for spec in ALL for name in spec.series_names)
