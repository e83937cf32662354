"""The operator exports exactly the metrics the alerts and the dashboard are written against."""

import re

from prometheus_client import generate_latest

from samu_operator import metrics
from samu_operator.core import metric_names


def _exported() -> dict[str, str]:
    """Metric name -> type, as a Prometheus scrape of the operator shows them."""
    text = generate_latest(metrics.REGISTRY).decode()
    types = dict(re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M))
    # prometheus-client adds a *_created gauge beside counters and histograms: not ours.
    return {name: kind for name, kind in types.items() if not name.endswith("_created")}


def test_operator_exports_the_shared_table_exactly():
    assert _exported() == {spec.name: spec.kind for spec in metric_names.ALL}


def test_series_names_cover_histogram_parts_and_counter_suffix():
    assert "samu_failover_duration_seconds_bucket" in metric_names.series_names()
    assert metric_names.FAILOVERS.constructor_name == "samu_failovers"
    assert all(s.name.endswith("_total") for s in metric_names.ALL if s.kind == "counter")
    assert len({s.name for s in metric_names.ALL}) == len(metric_names.ALL)
