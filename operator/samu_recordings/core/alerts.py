"""When the shipper's alert conditions hold (the same thresholds as its Prometheus rules)."""

from dataclasses import dataclass

#: Audio older than this not yet in the store: the store or the shipper is failing.
BACKLOG_AGE_SECONDS = 30.0
#: Free space under this share of the recording volume: recordings may soon be lost.
DISK_FREE_RATIO = 0.05


@dataclass(frozen=True)
class Health:
    oldest_unshipped_seconds: float
    backlog_bytes: int
    disk_free_ratio: float
    disk_write_failed: bool


def backlog_alert(h: Health, threshold: float = BACKLOG_AGE_SECONDS) -> bool:
    return h.backlog_bytes > 0 and h.oldest_unshipped_seconds > threshold


def disk_alert(h: Health, threshold: float = DISK_FREE_RATIO) -> bool:
    return h.disk_write_failed or h.disk_free_ratio < threshold
