"""SIP over TLS on the carrier side (the config's WITH_TLS variant): the carrier reaches the
edge over TLS, the call is routed to the SAMU's PBX, the answer comes back over TLS."""

import pytest

from tests.edge.conftest import Lab
from tests.edge.harness import HOST
from tests.edge.tls import NEEDS_TLS
from tests.edge.tls_lab import SAMU30_NUMBER, carrier_connection, send_request, start_tls_edge

pytestmark = pytest.mark.sip


@NEEDS_TLS[0]
@NEEDS_TLS[1]
def test_carrier_call_over_tls_reaches_the_samu(lab: Lab) -> None:
    tls_port, cert = start_tls_edge(lab, client=True)
    with carrier_connection(tls_port, cert) as stream:
        assert stream.version() in {"TLSv1.2", "TLSv1.3"}
        options = send_request(stream, "OPTIONS", f"sip:{HOST}:{tls_port}")
        assert options.startswith("SIP/2.0 200")
        answer = send_request(stream, "INVITE", f"sip:{SAMU30_NUMBER}@{HOST}")
        assert answer.startswith("SIP/2.0 200 OK"), answer
        assert "X-Pbx: samu-30-a" in answer
        assert "transport=tls" in answer.split("Record-Route:", 1)[1].split("\r\n", 1)[0]
