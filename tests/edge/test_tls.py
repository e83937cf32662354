"""SIP over TLS on the carrier side (the config's WITH_TLS variant): the carrier reaches the
edge over TLS, the call is routed to the SAMU's PBX, the answer comes back over TLS."""

import glob
import shutil
import socket
import ssl
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.edge.conftest import Lab, tenant_doc
from tests.edge.harness import HOST, free_port

pytestmark = pytest.mark.sip

TLS_MODULE = [
    *glob.glob("/usr/lib/*/kamailio/modules/tls.so"),
    *glob.glob("/usr/lib*/kamailio/modules/tls.so"),
    *glob.glob("/usr/local/lib*/kamailio/modules/tls.so"),
]


def _certificate(directory: Path) -> tuple[Path, Path]:
    key, cert = directory / "edge.key", directory / "edge.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=edge.samu-platform.test", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return key, cert


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


@pytest.mark.skipif(
    not TLS_MODULE, reason="kamailio tls.so missing: install kamailio-tls-modules (make debs)"
)
@pytest.mark.skipif(
    shutil.which("openssl") is None, reason="openssl CLI missing to make a test certificate"
)
def test_carrier_call_over_tls_reaches_the_samu(lab: Lab) -> None:
    key, cert = _certificate(lab.workdir)
    tls_cfg = lab.workdir / "tls.cfg"
    tls_cfg.write_text(
        "[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n"
        f"private_key = {key}\ncertificate = {cert}\n\n"
        "[client:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\n"
    )
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
