"""Bad input at the carrier side: malformed SIP and loops are refused, and the edge keeps
serving calls."""

import pytest

from tests.edge.conftest import Lab, tenant_doc
from tests.edge.rawsip import exchange, invite

pytestmark = pytest.mark.sip

MALFORMED = [
    b"hello edge\r\n\r\n",
    b"\x00\xff\xfe garbage \x01\x02" * 50,
    b"INVITE sip:15@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{lport};branch=z9hG4bKx1\r\n\r\n",
    b"INVITE sip:+33466000015@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{lport};branch=z9hG4bKx2\r\n"
    b"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>\r\nCall-ID: c2\r\nCSeq: notanumber INVITE\r\n"
    b"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
    b"INVITE sip:+33466000015@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{lport};branch=z9hG4bKx3\r\n"
    b"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>\r\nCall-ID: c3\r\nCSeq: 1 INVITE\r\n"
    b"Max-Forwards: 70\r\nContent-Length: 5000\r\n\r\nshort",
    b"INVITE sip:+33466000015@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{lport};branch=z9hG4bKx4\r\n"
    b"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>\r\nCall-ID: c4\r\nCSeq: 1 BYE\r\n"
    b"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
    b"INVITE http://+33466000015@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{lport};branch=z9hG4bKx5\r\n"
    b"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>\r\nCall-ID: c5\r\nCSeq: 1 INVITE\r\n"
    b"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
]


def test_malformed_sip_and_loops_are_rejected_and_calls_still_flow(lab: Lab) -> None:
    lab.add_pbx("samu-30", "a")
    lab.add_pbx("samu-30", "b")
    # SAMU 66's PBX addresses point back at the edge itself: a routing loop.
    for zone in ("a", "b"):
        lab.addresses[f"samu-66/{zone}"] = f"sip:127.0.0.1:{lab.edge.sip_port}"
    lab.start(
        [tenant_doc("30", numbers=["+33466000015"]), tenant_doc("66", numbers=["+33468000015"])]
    )

    port = lab.edge.sip_port
    for message in MALFORMED:
        status = exchange(port, message, timeout=0.5)
        assert status is None or status.startswith("SIP/2.0 4"), (message[:60], status)
    assert exchange(port, invite(port, "+33466000015", max_forwards=0)) == (
        "SIP/2.0 483 Too Many Hops"
    )
    assert exchange(port, invite(port, "+33468000015"), timeout=5) == "SIP/2.0 483 Too Many Hops"

    assert lab.edge.proc is not None and lab.edge.proc.poll() is None, "the edge died"
    metrics = lab.metrics()
    assert 'samu_edge_rejected_total{reason="max_forwards"}' in metrics
    assert 'samu_edge_rejected_total{reason="malformed"}' in metrics
    run = lab.caller(number="+33466000015").run(rate=20, calls=20)
    assert run.failed_setups == 0 and run.by_pbx() == {"samu-30-a": 20}
