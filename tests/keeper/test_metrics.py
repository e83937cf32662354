"""The keeper's Prometheus text: rescued, rescue_failed and the gap histogram."""

from prometheus_client.parser import text_string_to_metric_families

from samu_keeper.metrics import KeeperMetrics


def samples(text: str) -> dict[tuple[str, tuple], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_rescues_failures_and_gaps_are_exported():
    metrics = KeeperMetrics()
    metrics.record_rescue("samu-30", "media", 1.2)
    metrics.record_rescue("samu-30", "transport", 0.3)
    metrics.record_failure("samu-30", "no PBX left in the dispatcher set")
    got = samples(metrics.text())
    assert got[("samu_keeper_rescued_total", (("signal", "media"), ("tenant", "samu-30")))] == 1
    failed = (("reason", "no PBX left in the dispatcher set"), ("tenant", "samu-30"))
    assert got[("samu_keeper_rescue_failed_total", failed)] == 1
    gap = "samu_keeper_rescue_gap_seconds"
    assert got[(gap + "_count", (("tenant", "samu-30"),))] == 2
    assert got[(gap + "_bucket", (("le", "0.5"), ("tenant", "samu-30")))] == 1
    assert got[(gap + "_bucket", (("le", "2.0"), ("tenant", "samu-30")))] == 2


def test_two_keepers_count_apart():
    a, b = KeeperMetrics(), KeeperMetrics()
    a.record_failure("samu-30", "x")
    assert "samu_keeper_rescue_failed_total{" not in b.text()
