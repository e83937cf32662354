"""Rotating the carrier-facing certificate: the chart's Kamailio, run for real on loopback with
the chart's own files, serves the new certificate after `tls.reload` (what the README's
rotation step calls) while a carrier connection opened before keeps working."""

import json
import os
import shutil
import socket
import ssl
import time
import urllib.request
from pathlib import Path

import pytest

from tests.edge.tls import self_signed
from tests.helm.test_edge_chart import TLS_ON, chart_kamailio, write_chart_files

pytestmark = pytest.mark.sip


def _certificate(directory: Path, cn: str) -> bytes:
    """A self-signed pair written as the kubelet refreshes a Secret volume: files replaced
    whole (rename), never rewritten in place. Returns the certificate (DER)."""
    directory.mkdir(exist_ok=True)
    staging = directory / f".{cn}"
    staging.mkdir()
    self_signed(staging, cn, key_name="tls.key", cert_name="tls.crt")
    for name in ("tls.key", "tls.crt"):
        os.replace(staging / name, directory / name)
    return ssl.PEM_cert_to_DER_cert((directory / "tls.crt").read_text())


def _connect(port: int) -> ssl.SSLSocket:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # a self-signed test certificate; only its bytes matter
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return context.wrap_socket(raw)


def _rpc(http: int, method: str) -> dict:
    body = json.dumps({"jsonrpc": "2.0", "method": method, "id": 1}).encode()
    with urllib.request.urlopen(f"http://127.0.0.1:{http}/RPC", body, timeout=10) as reply:
        return json.loads(reply.read())


def test_tls_reload_serves_the_new_certificate_and_keeps_open_connections(tmp_path):
    if shutil.which("kamailio") is None:
        pytest.skip("kamailio is not installed (make test installs it)")
    if shutil.which("openssl") is None:
        pytest.skip("openssl is missing: cannot make the test certificates")
    write_chart_files(TLS_ON, tmp_path)
    old = _certificate(tmp_path / "tls", "edge-old")
    with chart_kamailio(TLS_ON, tmp_path) as kamailio:
        http, tls, proc = kamailio.http, kamailio.tls, kamailio.proc
        deadline = time.monotonic() + 30
        first = None
        while first is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                _rpc(http, "core.version")
                first = _connect(tls)
            except OSError:
                time.sleep(0.1)
        assert first is not None, kamailio.log.read_text()[-3000:]
        with first:
            assert first.getpeercert(binary_form=True) == old
            new = _certificate(tmp_path / "tls", "edge-new")
            reply = _rpc(http, "tls.reload")
            assert "error" not in reply, reply
            with _connect(tls) as second:
                assert second.getpeercert(binary_form=True) == new
            # The connection opened before the reload still carries SIP: a CRLF keep-alive
            # ping gets Kamailio's pong on it.
            first.sendall(b"\r\n\r\n")
            assert first.recv(16) == b"\r\n"
