"""Débordement: a SAMU with no live PBX, or saturated (its PBX answers 486 beyond
capacity.maxConcurrentCalls), sends its calls to its partner; a 15 call is never refused for
capacity."""

import urllib.request

import pytest

from tests.edge.conftest import Lab, tenant_doc
from tests.edge.rawsip import exchange, final_reply, invite

pytestmark = pytest.mark.sip


def _metrics(lab: Lab) -> str:
    with urllib.request.urlopen(lab.edge.metrics_url, timeout=5) as response:
        return response.read().decode()


def test_tenant_with_every_pbx_down_overflows_to_its_partner(lab: Lab) -> None:
    dead = [lab.add_pbx("samu-30", "a"), lab.add_pbx("samu-30", "b")]
    lab.add_pbx("samu-34", "a")
    lab.add_pbx("samu-34", "b")
    lab.start(
        [
            tenant_doc("30", numbers=["+33466000015"], partner="samu-34"),
            tenant_doc("34", numbers=["+33467000015"]),
        ]
    )
    for pbx in dead:  # both zones of SAMU 30 gone, its status not yet updated
        pbx.freeze()
    run = lab.caller(number="+33466000015").run(rate=20, calls=30)

    assert run.failed_setups == 0, run.log
    assert run.by_pbx() == {"samu-34-a": 30}
    metrics = _metrics(lab)
    assert 'samu_edge_overflowed_total{samu="samu-30"} 30 ' in metrics
    assert 'samu_edge_call_attempts_total{samu="samu-30"} 30 ' in metrics

    # Once the operator writes the PBX as down, calls overflow without trying them.
    result = lab.apply(
        [
            tenant_doc(
                "30", numbers=["+33466000015"], partner="samu-34", ready={"a": False, "b": False}
            ),
            tenant_doc("34", numbers=["+33467000015"]),
        ]
    )
    assert result.changed
    flags = lab.edge.dispatcher_flags()
    assert {flags[p.uri] for p in dead} == {"DX"}, flags  # disabled: never selected nor probed
    run = lab.caller(number="15", department="30").run(rate=20, calls=20)
    assert run.failed_setups == 0
    assert run.by_pbx() == {"samu-34-a": 20}
    assert max(c.setup_seconds for c in run.calls) < 0.4, "overflow should not wait for timeouts"


def test_saturated_tenant_overflows_to_its_partner(lab: Lab) -> None:
    # Both SAMU at capacity: SAMU 84 takes SAMU 13's calls only because the edge marks them
    # as débordement (X-Samu-Overflow-From), which a PBX never refuses.
    lab.add_pbx("samu-13", "a", scenario="pbx_saturated.xml")
    lab.add_pbx("samu-13", "b", scenario="pbx_saturated.xml")
    lab.add_pbx("samu-84", "a", scenario="pbx_saturated.xml")
    lab.add_pbx("samu-84", "b", scenario="pbx_saturated.xml")
    lab.start(
        [
            tenant_doc("13", numbers=["+33491000015"], partner="samu-84"),
            tenant_doc("84", numbers=["+33490000015"]),
        ]
    )
    run = lab.caller(number="+33491000015").run(rate=20, calls=20)

    assert run.failed_setups == 0, run.log
    assert run.by_pbx() == {"samu-84-a": 20}
    metrics = _metrics(lab)
    assert 'samu_edge_overflowed_total{samu="samu-13"} 20 ' in metrics
    assert 'samu_edge_setup_failures_total{samu="samu-13"}' not in metrics


def test_saturated_tenant_whose_partner_cannot_help_gets_its_calls_back(lab: Lab) -> None:
    # A 15 call is never refused for capacity: with the partner dead, the call goes back to
    # the busy PBX marked as débordement, and the PBX takes it (queues it).
    lab.add_pbx("samu-13", "a", scenario="pbx_saturated.xml")
    lab.add_pbx("samu-13", "b", scenario="pbx_saturated.xml")
    partner = [lab.add_pbx("samu-84", "a"), lab.add_pbx("samu-84", "b")]
    lab.start(
        [
            tenant_doc("13", numbers=["+33491000015"], partner="samu-84"),
            tenant_doc("84", numbers=["+33490000015"]),
        ]
    )
    for pbx in partner:  # SAMU 84's zones gone, its status not yet updated
        pbx.freeze()
    run = lab.caller(number="+33491000015").run(rate=10, calls=10)

    assert run.failed_setups == 0, run.log
    assert run.by_pbx() == {"samu-13-a": 10}
    assert 'samu_edge_setup_failures_total{samu="samu-13"}' not in _metrics(lab)


def test_a_pbx_overflow_reaches_the_partner_marked(lab: Lab) -> None:
    # The PBX's own débordement (core/asterisk.py [overflow]): a bare 15 with the partner's
    # département and X-Samu-Overflow-From; the partner's saturated PBX takes it all the same.
    lab.add_pbx("samu-13", "a")
    lab.add_pbx("samu-13", "b")
    lab.add_pbx("samu-84", "a", scenario="pbx_saturated.xml")
    lab.add_pbx("samu-84", "b", scenario="pbx_saturated.xml")
    lab.start(
        [
            tenant_doc("13", numbers=["+33491000015"], partner="samu-84"),
            tenant_doc("84", numbers=["+33490000015"], partner="samu-13"),
        ]
    )
    port = lab.edge.sip_port
    unmarked = final_reply(port, invite(port, "15", department="84"))
    assert unmarked is not None and "X-Pbx: samu-13-a" in unmarked, "SAMU 84 is saturated"
    marked = invite(port, "15", department="84", extra=marked_by("samu-13"))
    # from a carrier (not a PBX's address): routed the same, never counted as overflowed
    forged = final_reply(port, marked, source="127.0.0.2")
    assert forged is not None and "X-Pbx: samu-84-a" in forged, forged
    reply = final_reply(port, invite(port, "15", department="84", extra=marked_by("samu-13")))
    assert reply is not None and reply.startswith("SIP/2.0 200 OK"), reply
    assert "X-Pbx: samu-84-a" in reply, reply
    # overflowed once for the SAMU whose PBX sent it (the unmarked call counts for SAMU 84)
    metrics = lab.metrics()
    assert 'samu_edge_overflowed_total{samu="samu-13"} 1 ' in metrics, metrics
    assert 'samu_edge_overflowed_total{samu="samu-84"} 1 ' in metrics, metrics


def test_tenant_without_pbx_nor_partner_gets_503_and_a_counted_failure(lab: Lab) -> None:
    lab.add_pbx("samu-30", "a")
    lab.add_pbx("samu-30", "b")
    lonely = tenant_doc("48", numbers=["+33466490015"])
    del lonely["status"]  # just created: no PBX yet
    lab.start([tenant_doc("30", numbers=["+33466000015"]), lonely])
    port = lab.edge.sip_port
    assert exchange(port, invite(port, "+33466490015")) == "SIP/2.0 503 Service Unavailable"
    metrics = _metrics(lab)
    assert 'samu_edge_setup_failures_total{samu="samu-48"} 1 ' in metrics
    assert 'samu_edge_call_attempts_total{samu="samu-48"} 1 ' in metrics
    assert lab.caller(number="+33466000015").run(rate=20, calls=5).failed_setups == 0


def marked_by(tenant: str) -> tuple[str, ...]:
    return (f"X-Samu-Overflow-From: {tenant}",)
