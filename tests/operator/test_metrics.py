"""Operator metrics: tenants by phase, reconcile duration and errors, on the metrics port."""

import urllib.request

import pytest
from prometheus_client import Counter, generate_latest

from samu_operator import metrics
from samu_operator.core import metric_names


def sample(name, **labels):
    return metrics.REGISTRY.get_sample_value(name, labels)


def test_tenants_by_phase_follow_each_tenant():
    metrics.set_phase("samu-t1", "Ready")
    metrics.set_phase("samu-t2", "Ready")
    before = sample("samu_tenants", phase="Ready")
    metrics.set_phase("samu-t2", "Degraded")
    assert sample("samu_tenants", phase="Ready") == before - 1
    assert sample("samu_tenant_phase", tenant="samu-t2", phase="Degraded") == 1
    assert sample("samu_tenant_phase", tenant="samu-t2", phase="Ready") == 0
    metrics.set_phase("samu-t2", None)
    assert sample("samu_tenant_phase", tenant="samu-t2", phase="Degraded") is None
    metrics.set_phase("samu-t1", None)


def test_reconcile_histogram_and_errors_exposed():
    metrics.RECONCILE_DURATION.observe(0.2)
    metrics.RECONCILE_ERRORS.labels("ZoneNotFound").inc()
    text = generate_latest(metrics.REGISTRY).decode()
    assert "samu_reconcile_duration_seconds_bucket" in text
    assert 'samu_reconcile_errors_total{reason="ZoneNotFound"}' in text


def test_served_over_http():
    port = metrics.serve(0)
    assert port == 0  # 0 turns the server off (tests)
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    assert metrics.serve(free, "127.0.0.1") == free
    with urllib.request.urlopen(f"http://127.0.0.1:{free}/metrics", timeout=10) as r:
        assert b"samu_tenants" in r.read()


def test_a_collector_of_another_kind_than_the_shared_table_is_refused():
    # samu_tenant_phase is a gauge in the table the alerts and dashboard are checked against.
    with pytest.raises(TypeError, match="samu_tenant_phase is a gauge"):
        metrics._collector(Counter, metric_names.TENANT_PHASE)
