"""A carrier calling SAMU 30 over SIP-TLS through a lab edge: the edge started with the TLS
listener, the carrier's TLS connection, and one request over it. One place for what the
carrier-side TLS tests (tests/edge, tests/helm) set up the same way."""

import contextlib
import socket
import ssl
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from tests.edge.conftest import Lab, tenant_doc
from tests.edge.harness import HOST, free_port
from tests.edge.tls import self_signed, tls_config

#: SAMU 30's number in the lab: the carrier's calls to it reach its PBX samu-30-a.
SAMU30_NUMBER = "+33466000015"
#: The certificate's CN; also the name the carrier asks for (SNI).
SERVER_NAME = "edge.samu-platform.test"


def single_tls_listener(tls_port: int) -> dict[str, str]:
    """The edge's one TLS listener on loopback (the config's WITH_TLS default layout)."""
    return {"EDGE_SIP_LISTEN_TLS": f"tls:{HOST}:{tls_port}"}


def start_tls_edge(
    lab: Lab,
    *,
    client: bool = False,
    listeners: Callable[[int], dict[str, str]] = single_tls_listener,
) -> tuple[int, Path]:
    """Start ``lab``'s edge with WITH_TLS in front of SAMU 30's PBX a and b.

    ``listeners(tls_port)`` gives the EDGE_SIP_LISTEN* defines; ``client`` adds tls.cfg's
    client profile. Returns the TLS port and the certificate the carrier must trust.
    """
    key, cert = self_signed(lab.workdir, cn=SERVER_NAME)
    tls_cfg = tls_config(lab.workdir, key, cert, client=client)
    tls_port = free_port()
    lab.edge.defines.update(
        {"WITH_TLS": "", "EDGE_TLS_CONFIG": f'"{tls_cfg}"', **listeners(tls_port)}
    )
    lab.add_pbx("samu-30", "a")
    lab.add_pbx("samu-30", "b")
    lab.start([tenant_doc("30", numbers=[SAMU30_NUMBER])])
    return tls_port, cert


@contextlib.contextmanager
def carrier_connection(tls_port: int, cert: Path) -> Iterator[ssl.SSLSocket]:
    """The carrier's TLS connection to the edge, trusting only the lab's certificate."""
    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = False
    with (
        socket.create_connection((HOST, tls_port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=SERVER_NAME) as stream,
    ):
        yield stream


def send_request(stream: ssl.SSLSocket, method: str, ruri: str) -> str:
    """One request from the carrier over its TLS connection; the final answer's head
    (provisional 1xx answers are skipped)."""
    lport = stream.getsockname()[1]
    lines = [
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
    stream.sendall("\r\n".join(lines).encode())
    buffer = b""
    while True:
        chunk = stream.recv(65535)
        assert chunk, "the edge closed the carrier's connection"
        buffer += chunk
        while b"\r\n\r\n" in buffer:
            head, buffer = buffer.split(b"\r\n\r\n", 1)
            text = head.decode(errors="replace")
            if not text.startswith("SIP/2.0 1"):
                return text
