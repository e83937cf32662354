"""The keeper's metrics in Prometheus text: rescues, failed rescues, and the caller's audio gap.

Its own registry (not the process-global one) so that each keeper, and each test, counts only
its own calls.
"""

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

#: Gap buckets (seconds of caller-side audio missing during a rescue): the goal is p99 <= 2 s.
GAP_BUCKETS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 5.0, 10.0)


class KeeperMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.rescued = Counter(
            "samu_keeper_rescued",
            "Answered calls whose PBX leg died and that a new PBX took back",
            ["tenant", "signal"],
            registry=self.registry,
        )
        self.rescue_failed = Counter(
            "samu_keeper_rescue_failed",
            "Answered calls no PBX could take back (recorded for call-back)",
            ["tenant", "reason"],
            registry=self.registry,
        )
        self.gap = Histogram(
            "samu_keeper_rescue_gap_seconds",
            "Seconds between the PBX leg's last audio and the new PBX's first audio",
            ["tenant"],
            buckets=GAP_BUCKETS,
            registry=self.registry,
        )

        self.calls = Gauge(
            "samu_keeper_calls",
            "Answered calls this keeper holds now",
            registry=self.registry,
        )
        self.adopted = Counter(
            "samu_keeper_adopted",
            "Calls this keeper took over from a dead peer",
            registry=self.registry,
        )
        self.prompts = Counter(
            "samu_keeper_prompts_played",
            "Rescue prompts rtpengine started playing to a caller",
            ["tenant"],
            registry=self.registry,
        )
        self.unrecorded = Counter(
            "samu_keeper_unrecorded_calls",
            "Calls rtpengine did not anchor (the PBX's recording is their only copy)",
            ["tenant"],
            registry=self.registry,
        )

    def record_rescue(self, tenant: str, signal: str, gap_seconds: float) -> None:
        self.rescued.labels(tenant=tenant, signal=signal).inc()
        self.gap.labels(tenant=tenant).observe(gap_seconds)

    def record_failure(self, tenant: str, reason: str) -> None:
        self.rescue_failed.labels(tenant=tenant, reason=reason).inc()

    def text(self) -> str:
        return generate_latest(self.registry).decode()
