"""The ARMs' phones and their centre's PBX around real edges, on 127.0.0.0/8.

Each PBX stand-in has its own loopback address (127.0.0.2, .3, ...), as each PBX pod has its
own: the edge tells a tenant's PBX from another's, and a fenced PBX from the active one, by
source address. Phones register from 127.0.0.1 with the password the operator derives
(``core.positions``) and the tables the edge's sidecar writes from the ``edge-positions``
Secret, then answer as SIPp UAS from the port they registered from, with a Contact at a
private address (behind the centre's NAT): the edge must reach them by their source.
"""

import base64
import contextlib
import hashlib
import re
import secrets
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samu_operator.core import desired, edge_positions, positions
from samu_operator.core.routing import build_routing
from samu_operator.edge.files import EdgeFiles, write_atomic
from samu_operator.edge.sync import EdgeSync
from samu_operator.model import validate_tenant
from tests.edge.harness import HOST, SCENARIOS, Kamailio, _stop

#: Where the phones are (a centre's site range in these tests).
PHONE_IP = HOST
#: What the phones write in their Contact: a centre's private address the edge cannot reach.
PRIVATE_CONTACT = "10.99.0.7:5060"


def port_on(ip: str) -> int:
    """A port free for UDP and TCP on ``ip`` (a 127.0.0.0/8 address)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((ip, 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((ip, port))
                except OSError:
                    continue
                return port
    raise RuntimeError(f"no free port on {ip}")


@dataclass
class EdgeAt(Kamailio):
    """The chart's edge with its SIP sockets on its own loopback address (as each edge pod has
    its own): an edge knows a registration's Path as its own or another's by the address."""

    ip: str = HOST

    def command(self) -> list[str]:
        self.defines.setdefault("EDGE_SIP_LISTEN", f"udp:{self.ip}:{self.sip_port}")
        self.defines.setdefault("EDGE_SIP_LISTEN_TCP", f"tcp:{self.ip}:{self.sip_port}")
        return super().command()


def edge_ip(edge: Kamailio) -> str:
    return getattr(edge, "ip", HOST)


def _final_status(sock: socket.socket, edge: Kamailio, lines: list[str]) -> str | None:
    """Send one request (its lines) to ``edge``; the status line of its final reply, or None."""
    sock.sendto("\r\n".join(lines).encode(), (edge_ip(edge), edge.sip_port))
    try:
        while True:
            reply = sock.recv(65535).decode(errors="replace")
            if not reply.startswith("SIP/2.0 1"):
                return reply.split("\r\n", 1)[0]
    except TimeoutError:
        return None


def invite_from(source: str, edge: Kamailio, account: str, timeout: float = 3.0) -> str | None:
    """An INVITE for ``account`` sent to ``edge`` from ``source`` (a 127.0.0.0/8 address); the
    status line of its final reply, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(timeout)
        lport = sock.getsockname()[1]
        host = f"{edge_ip(edge)}:{edge.sip_port}"
        lines = [
            f"INVITE sip:{account}@{host} SIP/2.0",
            f"Via: SIP/2.0/UDP {source}:{lport};branch=z9hG4bK{secrets.token_hex(8)};rport",
            f"From: <sip:queue@{source}>;tag={secrets.token_hex(4)}",
            f"To: <sip:{account}@{host}>",
            f"Call-ID: {secrets.token_hex(12)}@{source}",
            "CSeq: 1 INVITE",
            f"Contact: <sip:queue@{source}:{lport}>",
            "Max-Forwards: 70",
            "Content-Length: 0",
            "",
            "",
        ]
        return _final_status(sock, edge, lines)


def _udp_bound(ip: str, port: int) -> bool:
    """Someone (SIPp) holds ``ip:port`` for UDP."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        try:
            udp.bind((ip, port))
        except OSError:
            return True
    return False


def _sipp_log(path: Path, word: str) -> list[str]:
    """The Call-IDs of the ``word`` lines of a SIPp -trace_logs file."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] == word:
            out.append(" ".join(parts[1:]))
    return out


@dataclass
class PbxAt:
    """A PBX stand-in at its own address: answers the edge's probes (pbx.xml) and rings
    positions through an edge (pbx_dials.xml, from another port of the same address)."""

    name: str
    workdir: Path
    ip: str
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    dials: int = 0

    def __post_init__(self) -> None:
        self.port = self.port or port_on(self.ip)

    @property
    def uri(self) -> str:
        return f"sip:{self.ip}:{self.port}"

    def start(self) -> "PbxAt":
        cmd = ["sipp", "-sf", str(SCENARIOS / "pbx.xml"), "-i", self.ip, "-p", str(self.port)]
        cmd += ["-key", "pbx", self.name, "-nostdin", "-deadcall_wait", "0"]
        self.proc = subprocess.Popen(
            cmd, cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        return self

    def dial(self, edge: Kamailio, account: str, calls: int = 1, timeout: float = 20.0) -> dict:
        """Ring ``account`` through ``edge`` (one call after another); the Call-IDs answered
        and ended (BYE answered), and SIPp's exit code."""
        self.dials += 1
        log = self.workdir / f"{self.name}-dial{self.dials}.log"
        cmd = ["sipp", f"{edge_ip(edge)}:{edge.sip_port}", "-sf", str(SCENARIOS / "pbx_dials.xml")]
        cmd += ["-i", self.ip, "-p", str(port_on(self.ip)), "-s", account, "-nostdin"]
        cmd += ["-m", str(calls), "-l", "1", "-r", "5", "-trace_logs", "-log_file", str(log)]
        cmd += ["-timeout", str(int(timeout)), "-recv_timeout", "5000", "-trace_msg"]
        cmd += ["-message_file", str(log.with_suffix(".msg"))]
        with log.with_suffix(".err").open("wb") as err:
            proc = subprocess.Popen(cmd, cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=err)
        try:
            rc = proc.wait(timeout + 5)
        except subprocess.TimeoutExpired:
            _stop(proc)
            rc = -1
        return {
            "answered": _sipp_log(log, "ANSWERED"),
            "ended": _sipp_log(log, "ENDED"),
            "rc": rc,
        }

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)


def digest_register(
    edge_host: str,
    edge_port: int,
    sock: socket.socket,
    account: str,
    realm: str,
    password: str | None,
    *,
    domain: str | None = None,
    expires: int = 120,
    cseq: int = 1,
    auth_user: str | None = None,
) -> tuple[int, str]:
    """REGISTER ``account`` over ``sock`` (UDP), answering the edge's digest challenge with
    ``password`` (RFC 2617, as a phone does); the final status and reply."""
    domain = domain or realm
    uri = f"sip:{domain}"
    call_id = f"{secrets.token_hex(8)}@phone"
    contact = f"<sip:{account}@{PRIVATE_CONTACT}>"

    def send(authorization: str | None, n: int) -> tuple[int, str]:
        lines = [
            f"REGISTER {uri} SIP/2.0",
            f"Via: SIP/2.0/UDP {PRIVATE_CONTACT};branch=z9hG4bK{secrets.token_hex(6)};rport",
            "Max-Forwards: 70",
            f"From: <sip:{account}@{domain}>;tag={secrets.token_hex(4)}",
            f"To: <sip:{account}@{domain}>",
            f"Call-ID: {call_id}",
            f"CSeq: {n} REGISTER",
            f"Contact: {contact}",
            f"Expires: {expires}",
        ]
        if authorization:
            lines.append(authorization)
        lines += ["Content-Length: 0", "", ""]
        sock.sendto("\r\n".join(lines).encode(), (edge_host, edge_port))
        while True:
            reply = sock.recv(65535).decode(errors="replace")
            code = int(reply.split(" ", 2)[1])
            if code >= 200:
                return code, reply

    code, reply = send(None, cseq)
    if code != 401 or password is None:
        return code, reply
    nonce = re.search(r'nonce="([^"]+)"', reply)
    challenge_realm = re.search(r'realm="([^"]+)"', reply)
    assert nonce and challenge_realm, reply
    realm_ = challenge_realm.group(1)
    user = auth_user or account
    ha1 = hashlib.md5(f"{user}:{realm_}:{password}".encode()).hexdigest()
    ha2 = hashlib.md5(f"REGISTER:{uri}".encode()).hexdigest()
    response = hashlib.md5(f"{ha1}:{nonce.group(1)}:{ha2}".encode()).hexdigest()
    authorization = (
        f'Authorization: Digest username="{user}", realm="{realm_}", '
        f'nonce="{nonce.group(1)}", uri="{uri}", response="{response}", algorithm=MD5'
    )
    return send(authorization, cseq + 1)


@dataclass
class Phone:
    """A position's phone: registers (Python, digest), then rings and answers (SIPp UAS) on
    the port it registered from, from the centre's address ``ip``."""

    account: str
    workdir: Path
    ip: str = PHONE_IP
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None
    registers: int = 0

    def __post_init__(self) -> None:
        self.port = self.port or port_on(self.ip)

    @property
    def log(self) -> Path:
        return self.workdir / f"phone-{self.account}-{self.port}.log"

    def register(
        self, edge: Kamailio, password: str | None, *, realm: str | None = None, **kw: Any
    ) -> int:
        """One registration (challenge and answer) from the phone's own port."""
        assert self.proc is None, "register before the phone starts answering"
        realm = realm or self.account.rsplit("-", 2)[0]
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.ip, self.port))
            sock.settimeout(5)
            code, _ = digest_register(
                edge_ip(edge), edge.sip_port, sock, self.account, realm, password, **kw
            )
        self.registers += 1
        return code

    def start(self) -> "Phone":
        cmd = ["sipp", "-sf", str(SCENARIOS / "phone.xml"), "-i", self.ip, "-p", str(self.port)]
        cmd += ["-s", self.account, "-nostdin", "-deadcall_wait", "0"]
        cmd += ["-trace_logs", "-log_file", str(self.log), "-trace_msg"]
        cmd += ["-message_file", str(self.log.with_suffix(".msg"))]
        with self.log.with_suffix(".err").open("wb") as err:
            self.proc = subprocess.Popen(
                cmd, cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=err
            )
        deadline = time.monotonic() + 10
        while not _udp_bound(self.ip, self.port):  # SIPp binds its port
            if self.proc.poll() is not None or time.monotonic() > deadline:
                err = self.log.with_suffix(".err").read_text()
                raise RuntimeError(f"the phone's SIPp is not answering: {err}")
            time.sleep(0.05)
        return self

    def rang(self, calls: int = 0, timeout: float = 5.0) -> list[str]:
        """The calls this phone answered and saw ended: 'call-id from-user' each; waits (up
        to ``timeout``) until there are ``calls`` of them (SIPp writes its log buffered)."""
        deadline = time.monotonic() + timeout
        while len(found := _sipp_log(self.log, "RANG")) < calls and time.monotonic() < deadline:
            time.sleep(0.05)
        return found

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)


def started(make: Callable[[int], Any]) -> Any:
    """``make(attempt).start()``, once more with new ports when a port picked from the kernel
    was taken by another process before Kamailio bound it (the machine is shared: ephemeral
    ports of other tests' connections land in the same range)."""
    for attempt in (1, 2):
        lab = make(attempt)
        try:
            return lab.start()
        except RuntimeError as exc:
            lab.stop()
            if attempt == 2 or "Address already in use" not in str(exc):
                raise
    raise AssertionError("unreachable")


@contextlib.contextmanager
def running(make: Callable[[int], Any]) -> Iterator[Any]:
    """A lab ``started``, stopped (every process it started) on exit."""
    lab = started(make)
    try:
        yield lab
    finally:
        lab.stop()


def tenant(doc: dict[str, Any], site_ranges: list[str], agents: int = 2) -> dict[str, Any]:
    """A tenant document of the edge tests (``tests.edge.conftest.tenant_doc``) with its
    centre's site ranges and ``agents`` positions arm-01..."""
    doc["spec"]["siteRanges"] = site_ranges
    doc["spec"]["capacity"] = {"agents": agents, "maxConcurrentCalls": 10}
    doc["spec"].pop("positions", None)
    return doc


@dataclass
class Positions:
    """What the operator derives for the tenants' positions (one key per tenant) and the
    edge's sidecar writes: the subscriber and address tables."""

    docs: list[dict[str, Any]]
    keys: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for doc in self.docs:
            self.keys.setdefault(doc["metadata"]["name"], secrets.token_urlsafe(32))

    def password(self, account: str) -> str:
        tenant = account.rsplit("-", 2)[0]
        return positions.password(self.keys[tenant], account)

    def parsed(self) -> list[edge_positions.TenantPositions]:
        out = []
        for doc in self.docs:
            model = validate_tenant({k: v for k, v in doc.items() if k != "status"})
            (secret,) = [
                s
                for s in desired.position_secrets(model, self.keys[model.name])
                if s["metadata"]["name"] == positions.EDGE_SECRET
            ]
            data = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
            out.append(edge_positions.parse(model.name, model.spec.department, data))
        return out

    def write(self, files: EdgeFiles, addresses: dict[str, str]) -> None:
        """Every table an edge reads, before it starts (the routing sidecar's files)."""
        table = build_routing(self.docs, addresses=addresses)
        files.directory.mkdir(parents=True, exist_ok=True)
        write_atomic(files.dispatcher, table.dispatcher_list())
        write_atomic(files.routing, table.routing_map(), distinct_mtime=True)
        parsed = self.parsed()
        write_atomic(files.version, edge_positions.version_table())
        write_atomic(files.subscriber, edge_positions.subscriber_table(parsed))
        write_atomic(files.address, edge_positions.address_table(parsed))


def contacts(edge: Kamailio, account: str) -> list[dict[str, Any]]:
    """The contacts of ``account`` in the edge's usrloc (RPC ul.lookup), [] when none."""
    from samu_operator.edge.rpc import RpcError

    try:
        result = edge.rpc.call("ul.lookup", "location", account)
    except RpcError:
        return []
    found = []
    for contact in (result or {}).get("Contacts", []):
        found.append(contact.get("Contact", contact))
    return found


def edge_sync(edge: Kamailio, addresses: dict[str, str]) -> EdgeSync:
    """The routing sidecar's side of ``edge`` (the dispatcher list rewritten and reloaded as
    the operator's failover makes it)."""
    return EdgeSync(edge.files, edge.rpc, addresses=addresses)


def in_call_request(
    edge: Kamailio,
    *,
    source: str,
    route_params: str,
    call_id: str,
    from_tag: str,
    ruri: str,
    method: str = "BYE",
) -> str | None:
    """One in-call request (To tag set) with a Route to ``edge`` carrying ``route_params``,
    sent from ``source``; the status line of the final reply, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(3)
        lport = sock.getsockname()[1]
        host = f"{edge_ip(edge)}:{edge.sip_port}"
        lines = [
            f"{method} {ruri} SIP/2.0",
            f"Via: SIP/2.0/UDP {source}:{lport};branch=z9hG4bK{secrets.token_hex(8)};rport",
            f"Route: <sip:{host};lr;{route_params}>",
            f"From: <sip:someone@{source}>;tag={from_tag}",
            f"To: <sip:other@{host}>;tag={secrets.token_hex(4)}",
            f"Call-ID: {call_id}",
            f"CSeq: 2 {method}",
            "Max-Forwards: 70",
            "Content-Length: 0",
            "",
            "",
        ]
        return _final_status(sock, edge, lines)


def position_route_sig(key: str, call_id: str, ftag: str, set_id: int) -> str:
    """The edge's signature of a call to a position's Record-Route (kamailio.cfg,
    route[POSITION_RELAY]): keyed SHA-256 over Call-ID, the PBX's From tag and p<set>."""
    return hashlib.sha256(f"{key}|{call_id}|{ftag}|p{set_id}".encode()).hexdigest()[:24]


class TcpPhone:
    """A phone on TCP (as through the SIP edge LB, or TLS): it opens one connection, registers
    over it and answers its calls over it; it is never reachable otherwise (its Contact is a
    private address). ``methods``: every request it received, in order."""

    def __init__(self, edge: Kamailio, account: str) -> None:
        self.account = account
        self.sock = socket.create_connection((edge_ip(edge), edge.sip_port), timeout=5)
        self.edge = edge
        self.buffer = b""
        self.methods: list[str] = []
        self._thread: Any = None

    def read(self) -> str:
        """One SIP message from the connection (headers, then Content-Length bytes)."""
        while b"\r\n\r\n" not in self.buffer:
            data = self.sock.recv(65535)
            if not data:
                raise ConnectionError("the edge closed the phone's connection")
            self.buffer += data
        head, _, rest = self.buffer.partition(b"\r\n\r\n")
        length = re.search(rb"(?im)^(?:content-length|l)\s*:\s*(\d+)", head)
        size = int(length.group(1)) if length else 0
        while len(rest) < size:
            rest += self.sock.recv(65535)
        self.buffer = rest[size:]
        return (head + b"\r\n\r\n" + rest[:size]).decode(errors="replace")

    def register(self, password: str) -> int:
        realm = self.account.rsplit("-", 2)[0]
        call_id = f"{secrets.token_hex(8)}@tcp-phone"
        auth = None
        for cseq in (1, 2):
            lines = [
                f"REGISTER sip:{realm} SIP/2.0",
                f"Via: SIP/2.0/TCP {PRIVATE_CONTACT};branch=z9hG4bK{secrets.token_hex(6)};rport",
                "Max-Forwards: 70",
                f"From: <sip:{self.account}@{realm}>;tag={secrets.token_hex(4)}",
                f"To: <sip:{self.account}@{realm}>",
                f"Call-ID: {call_id}",
                f"CSeq: {cseq} REGISTER",
                f"Contact: <sip:{self.account}@{PRIVATE_CONTACT};transport=tcp>",
                "Expires: 120",
                *([auth] if auth else []),
                "Content-Length: 0",
                "",
                "",
            ]
            self.sock.sendall("\r\n".join(lines).encode())
            reply = self.read()
            code = int(reply.split(" ", 2)[1])
            if code != 401:
                return code
            nonce = re.search(r'nonce="([^"]+)"', reply).group(1)  # type: ignore[union-attr]
            ha1 = hashlib.md5(f"{self.account}:{realm}:{password}".encode()).hexdigest()
            ha2 = hashlib.md5(f"REGISTER:sip:{realm}".encode()).hexdigest()
            response = hashlib.md5(f"{ha1}:{nonce}:{ha2}".encode()).hexdigest()
            auth = (
                f'Authorization: Digest username="{self.account}", realm="{realm}", '
                f'nonce="{nonce}", uri="sip:{realm}", response="{response}", algorithm=MD5'
            )
        return code

    def answer_one_call(self) -> None:
        """In a thread: answer the next INVITE (200 with SDP), then take its ACK and BYE."""
        import threading

        def run() -> None:
            while True:
                try:
                    msg = self.read()
                except (OSError, ConnectionError):
                    return
                if msg.startswith("SIP/2.0"):
                    continue
                method = msg.split(" ", 1)[0]
                self.methods.append(method)
                if method == "ACK":
                    continue
                self.sock.sendall(self._reply(msg, method == "INVITE").encode())
                if method == "BYE":
                    return

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def _reply(self, request: str, with_sdp: bool) -> str:
        head = request.split("\r\n\r\n", 1)[0].split("\r\n")[1:]
        keep = ("via", "record-route", "from", "call-id", "cseq")
        lines = ["SIP/2.0 200 OK"]
        for line in head:
            name = line.split(":", 1)[0].strip().lower()
            if name in keep:
                lines.append(line)
            elif name == "to":
                lines.append(line if ";tag=" in line else f"{line};tag=tcpphone")
        lines.append(f"Contact: <sip:{self.account}@{PRIVATE_CONTACT};transport=tcp>")
        body = ""
        if with_sdp:
            body = (
                "v=0\r\no=phone 1 1 IN IP4 10.99.0.7\r\ns=-\r\nc=IN IP4 10.99.0.7\r\n"
                "t=0 0\r\nm=audio 4000 RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n"
            )
            lines.append("Content-Type: application/sdp")
        lines += [f"Content-Length: {len(body)}", "", body]
        return "\r\n".join(lines)

    def wait(self, timeout: float = 10.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def close(self) -> None:
        self.sock.close()
