"""SIP over TLS on the carrier side (the config's WITH_TLS variant): the carrier reaches the
edge over TLS, the call is routed to the SAMU's PBX, the answer comes back over TLS."""

import socket
import ssl
import uuid

import pytest

from tests.edge.conftest import Lab, tenant_doc
from tests.edge.harness import HOST, free_port
from tests.edge.tls import NEEDS_TLS, self_signed, tls_config

pytestmark = pytest.mark.sip


def _request(stream: ssl.SSLSocket, port: int, lport: int, method: str, ruri: str) -> str:
    headers = [
        f"{method} {ruri} SIP/2.0",
        f"Via: SIP/2.0/TLS {HOST}:{lport};branch=z9hG4bK{uuid.uuid4().hex[:12]}",
        f"From: <sip:0466000001@{HOST}>;tag={uuid.uuid4().hex[:8]}",
        f"To: <{ruri}>",
        f"Call-ID: {uuid.uuid4().hex}",
        f"CSeq: 1 {method}",
        f"Contact: <sip:0466000001@{HOST}:{lport};transport=tls>",
        "Max-Forwards: 70",
        "Content-Length: 0",
        "",
        "",
    ]
    stream.sendall("\r\n".join(headers).encode())
    buffer = b""
    while True:
        buffer += stream.recv(65535)
        while b"\r\n\r\n" in buffer:
            head, buffer = buffer.split(b"\r\n\r\n", 1)
            text = head.decode(errors="replace")
            if not text.startswith("SIP/2.0 1"):
                return text


@NEEDS_TLS[0]
@NEEDS_TLS[1]
def test_carrier_call_over_tls_reaches_the_samu(lab: Lab) -> None:
    key, cert = self_signed(lab.workdir)
    tls_cfg = tls_config(lab.workdir, key, cert, client=True)
    tls_port = free_port()
    lab.edge.defines.update(
        {
            "WITH_TLS": "",
            "EDGE_SIP_LISTEN_TLS": f"tls:{HOST}:{tls_port}",
            "EDGE_TLS_CONFIG": f'"{tls_cfg}"',
        }
    )
    lab.add_pbx("samu-30", "a")
    lab.add_pbx("samu-30", "b")
    lab.start([tenant_doc("30", numbers=["+33466000015"])])

    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = False
    with (
        socket.create_connection((HOST, tls_port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="edge.samu-platform.test") as stream,
    ):
        lport = stream.getsockname()[1]
        assert stream.version() in {"TLSv1.2", "TLSv1.3"}
        options = _request(stream, tls_port, lport, "OPTIONS", f"sip:{HOST}:{tls_port}")
        assert options.startswith("SIP/2.0 200")
        answer = _request(stream, tls_port, lport, "INVITE", f"sip:+33466000015@{HOST}")
        assert answer.startswith("SIP/2.0 200 OK"), answer
        assert "X-Pbx: samu-30-a" in answer
        assert "transport=tls" in answer.split("Record-Route:", 1)[1].split("\r\n", 1)[0]
