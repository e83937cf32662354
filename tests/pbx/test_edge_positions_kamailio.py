"""The positions' tables as the edge's sidecar writes them, loaded by a real Kamailio
(db_text + auth_db + permissions, the modules the edge's registrar uses) on 127.0.0.1:
a position registers with its generated password; a wrong password and a foreign source
are refused. (The edge's own registrar routes, usrloc and DMQ come with its configuration.)
"""

import base64
import hashlib
import re
import secrets
import socket
import subprocess
from pathlib import Path

import pytest

from samu_operator.core import desired, edge_positions, positions
from samu_operator.edge.files import EdgeFiles
from samu_operator.edge.rpc import KamailioRpc, RpcError
from samu_operator.edge.sync import EdgeSync
from samu_operator.model import validate_tenant
from tests.edge.harness import HOST, _stop, free_port, missing_binaries, wait_for
from tests.operator.harness import example

CFG = Path(__file__).resolve().parent / "kamailio" / "positions-check.cfg"
pytestmark = [
    pytest.mark.sip,
    pytest.mark.skipif(bool(missing_binaries()), reason="kamailio (Debian) not installed"),
]


def _tenant(name, ranges):
    doc = example(name)
    doc["spec"]["siteRanges"] = ranges
    doc["spec"]["capacity"] = {"agents": 2, "maxConcurrentCalls": 10}
    return validate_tenant(doc)


@pytest.fixture
def edge(tmp_path):
    key = secrets.token_urlsafe(32)
    tenants = [_tenant("samu-30", ["127.0.0.0/8"]), _tenant("samu-2a", ["10.120.0.0/16"])]
    parsed = []
    for t in tenants:
        (secret,) = [
            s
            for s in desired.position_secrets(t, key)
            if s["metadata"]["name"] == positions.EDGE_SECRET
        ]
        data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
        parsed.append(edge_positions.parse(t.name, t.spec.department, data))
    tables = tmp_path / "tables"
    EdgeSync(EdgeFiles(tables), KamailioRpc("http://127.0.0.1:9/RPC")).apply_positions(parsed)
    sip, http = free_port(), free_port()
    cmd = [
        "kamailio",
        "-f",
        str(CFG),
        "-DD",
        "-E",
        "-m",
        "64",
        "-M",
        "8",
        "-P",
        str(tmp_path / "k.pid"),
    ]
    cmd += [
        "-A",
        f"POSITIONS_SIP_LISTEN=udp:{HOST}:{sip}",
        "-A",
        f"POSITIONS_HTTP_LISTEN=tcp:{HOST}:{http}",
    ]
    cmd += ["-A", f'POSITIONS_DB="text://{tables}"']
    log = tmp_path / "kamailio.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    rpc = KamailioRpc(f"http://{HOST}:{http}/RPC", timeout=5.0)

    def ready():
        if proc.poll() is not None:
            raise RuntimeError(f"kamailio exited: {log.read_text()[-3000:]}")
        try:
            rpc.call("core.version")
        except RpcError:
            return False
        return True

    try:
        wait_for(ready, 20, "kamailio's RPC")
        yield {"port": sip, "key": key, "rpc": rpc}
    finally:
        _stop(proc)


def _register(port, account, realm, password=None, challenge=None):
    """One REGISTER over UDP; with ``password``, answers ``challenge`` (RFC 2617 digest)."""
    uri = f"sip:{realm}"
    lines = [
        f"REGISTER {uri} SIP/2.0",
        f"Via: SIP/2.0/UDP {HOST}:5999;branch=z9hG4bK{secrets.token_hex(6)};rport",
        "Max-Forwards: 70",
        f"From: <sip:{account}@{realm}>;tag={secrets.token_hex(4)}",
        f"To: <sip:{account}@{realm}>",
        f"Call-ID: {secrets.token_hex(8)}@test",
        "CSeq: 1 REGISTER",
        f"Contact: <sip:{account}@{HOST}:5999>",
        "Expires: 60",
    ]
    if password is not None and challenge:
        nonce = re.search(r'nonce="([^"]+)"', challenge).group(1)
        ha1 = hashlib.md5(f"{account}:{realm}:{password}".encode()).hexdigest()
        ha2 = hashlib.md5(f"REGISTER:{uri}".encode()).hexdigest()
        response = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
        lines.append(
            f'Authorization: Digest username="{account}", realm="{realm}", nonce="{nonce}", '
            f'uri="{uri}", response="{response}", algorithm=MD5'
        )
    lines += ["Content-Length: 0", "", ""]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(5)
        s.sendto("\r\n".join(lines).encode(), (HOST, port))
        reply = s.recv(65535).decode()
    return int(reply.split(" ", 2)[1]), reply


def test_a_position_registers_with_its_generated_password(edge):
    account = "samu-30-arm-01"
    code, reply = _register(edge["port"], account, "samu-30")
    assert code == 401
    password = positions.password(edge["key"], account)
    code, _ = _register(edge["port"], account, "samu-30", password, reply)
    assert code == 200


def test_a_wrong_password_is_refused(edge):
    account = "samu-30-arm-02"
    code, reply = _register(edge["port"], account, "samu-30")
    code, _ = _register(edge["port"], account, "samu-30", "not-its-password", reply)
    assert code in (401, 403)


def test_a_source_outside_the_centres_ranges_is_refused(edge):
    """samu-2a's phones register from 10.120.0.0/16 only; this one comes from 127.0.0.1."""
    code, _ = _register(edge["port"], "samu-2a-arm-01", "samu-2a")
    assert code == 403
    dump = edge["rpc"].call("permissions.subnetDump")  # ranges (addressDump: single hosts)
    assert "10.120.0.0" in str(dump) and "127.0.0.0" in str(dump)
