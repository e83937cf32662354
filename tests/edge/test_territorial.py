"""Territorial routing: a call reaches only the SAMU of its number or département; an
unknown number gets a clean SIP error and Prometheus counts per SAMU."""

import urllib.request

import pytest

from tests.edge.conftest import Lab, tenant_doc
from tests.edge.rawsip import exchange, invite

pytestmark = pytest.mark.sip


def test_calls_reach_only_their_samu_and_unknown_numbers_get_404(lab: Lab) -> None:
    for tenant in ("samu-30", "samu-34", "samu-2a"):
        lab.add_pbx(tenant, "a")
        lab.add_pbx(tenant, "b")
    lab.start(
        [
            tenant_doc("30", numbers=["+33466000015"], partner="samu-34"),
            tenant_doc("34", numbers=["+33467000015"], partner="samu-30"),
            tenant_doc("2A", numbers=["+33495000015"]),
        ]
    )
    by_number = lab.caller(number="+33466000015").start(20, 20)
    by_department = lab.caller(number="15", department="34").start(20, 20)
    corsica = lab.caller(number="15", department="2a").start(20, 10)
    runs = [c.wait() for c in (by_number, by_department, corsica)]

    assert [r.failed_setups for r in runs] == [0, 0, 0]
    assert runs[0].by_pbx() == {"samu-30-a": 20}
    assert runs[1].by_pbx() == {"samu-34-a": 20}
    assert runs[2].by_pbx() == {"samu-2a-a": 10}

    port = lab.edge.sip_port
    assert exchange(port, invite(port, "+33100000000")) == "SIP/2.0 404 Not Found"
    assert exchange(port, invite(port, "15", department="99")) == "SIP/2.0 404 Not Found"
    assert exchange(port, invite(port, "15")) == "SIP/2.0 404 Not Found"

    with urllib.request.urlopen(lab.edge.metrics_url, timeout=5) as response:
        metrics = response.read().decode()
    assert 'samu_edge_call_attempts_total{samu="samu-30"} 20 ' in metrics
    assert 'samu_edge_call_attempts_total{samu="samu-34"} 20 ' in metrics
    assert 'samu_edge_call_attempts_total{samu="samu-2a"} 10 ' in metrics
    assert "samu_edge_unknown_number_total 3 " in metrics
    assert "samu_edge_overflowed_total{" not in metrics
