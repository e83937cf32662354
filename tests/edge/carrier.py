"""The carrier's path as on the cluster, on loopback: a carrier speaking SIP over TLS through
a byte relay playing Octavia's amphora (TCP passthrough, source address 127.0.0.2), with its
Contact on yet another address (127.0.0.3, where a new connection from the edge would land);
and a PBX written here (UDP, 127.0.0.1) that can hang up, since SIPp's stand-in cannot show
what Contact it received.

Hand-written rather than SIPp: the tests must see which connection a request arrives on, and
open or close that connection at will.
"""

import contextlib
import re
import socket
import ssl
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.edge.harness import HOST, wait_for

AMPHORA = "127.0.0.2"  # the LB's address towards the edge pod (never the carrier's Contact)
CARRIER = "127.0.0.3"  # the carrier's own address, in its Via and Contact
CRLF = "\r\n"


def headers(message: str) -> tuple[str, list[tuple[str, str]]]:
    """First line and (lower-case name, value) pairs of a SIP message head."""
    lines = message.split(CRLF)
    pairs = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            pairs.append((name.strip().lower(), value.strip()))
    return lines[0], pairs


def header(message: str, name: str) -> str:
    found = [v for n, v in headers(message)[1] if n == name.lower()]
    assert found, f"no {name} in\n{message}"
    return found[0]


def _uri(value: str) -> str:
    """The URI of a name-addr (``<sip:...>;params``)."""
    return re.findall(r"<([^>]+)>", value)[0]


def route_set(message: str) -> list[str]:
    """The Record-Route entries of a message, in order."""
    values = [v for n, v in headers(message)[1] if n == "record-route"]
    return [u for v in values for u in re.findall(r"<([^>]+)>", v)]


class Amphora:
    """TCP passthrough on 127.0.0.1:port -> the edge's TLS port, connecting from 127.0.0.2 (the
    bytes pass untouched: TLS ends in Kamailio, as with Octavia's TCP listener)."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.server = socket.create_server((HOST, 0))
        self.port = self.server.getsockname()[1]
        #: the edge-side source address of each relayed connection
        self.upstream: list[tuple[str, int]] = []
        self._sockets: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                client, _ = self.server.accept()
                up = socket.socket()
                # so that a test may listen on this very address once the connection is gone
                up.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                up.bind((AMPHORA, 0))
                up.connect((HOST, self.target))
                self.upstream.append(up.getsockname())
                self._sockets += [client, up]
                for a, b in ((client, up), (up, client)):
                    threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65535):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def drop(self) -> None:
        """The LB loses the connections (amphora failover, idle timeout): both sides closed."""
        for sock in self._sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        self._sockets = []

    def close(self) -> None:
        self.drop()
        self.server.close()


class Listener:
    """A TCP port that records every connection made to it (the edge must make none)."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(address)
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[tuple[str, int]] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, peer = self.sock.accept()
                self.accepted.append(peer)
                conn.close()

    def close(self) -> None:
        self.sock.close()


@dataclass
class TlsCarrier:
    """The carrier's SIP trunk: one TLS connection through the amphora, Contact elsewhere."""

    amphora: Amphora
    cafile: Path
    contact: Listener = field(init=False)
    stream: ssl.SSLSocket = field(init=False)
    _buffer: bytes = b""

    def __post_init__(self) -> None:
        self.contact = Listener((CARRIER, 0))
        context = ssl.create_default_context(cafile=str(self.cafile))
        context.check_hostname = False
        raw = socket.create_connection((HOST, self.amphora.port), timeout=10)
        self.stream = context.wrap_socket(raw, server_hostname="edge.samu-platform.test")

    def send(self, lines: list[str]) -> None:
        self.stream.sendall((CRLF.join([*lines, "Content-Length: 0", "", ""])).encode())

    def receive(self, timeout: float = 10.0) -> str:
        """The next message on the carrier's connection (heads only: no bodies here)."""
        self.stream.settimeout(timeout)
        while b"\r\n\r\n" not in self._buffer:
            chunk = self.stream.recv(65535)
            if not chunk:
                raise ConnectionError("the edge closed the carrier's connection")
            self._buffer += chunk
        head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        return head.decode(errors="replace")

    def call(self, number: str) -> "Dialog":
        """INVITE, the final answer (asserted 200) and the ACK along the route set."""
        ruri, ftag, call_id = f"sip:{number}@{HOST}", uuid.uuid4().hex[:8], uuid.uuid4().hex
        via = f"Via: SIP/2.0/TLS {CARRIER}:{self.contact.port};branch=z9hG4bK"
        caller = f"<sip:0466000001@{CARRIER}>;tag={ftag}"
        self.send([f"INVITE {ruri} SIP/2.0", via + uuid.uuid4().hex[:12], f"From: {caller}",
                   f"To: <{ruri}>", f"Call-ID: {call_id}", "CSeq: 1 INVITE",
                   f"Contact: <sip:0466000001@{CARRIER}:{self.contact.port};transport=tls>",
                   "Max-Forwards: 70"])  # fmt: skip
        answer = self.receive()
        while answer.startswith("SIP/2.0 1"):
            answer = self.receive()
        assert answer.startswith("SIP/2.0 200"), answer
        dialog = Dialog(call_id, answer)
        self._in_dialog(dialog, "ACK", 1)
        return dialog

    def _in_dialog(self, dialog: "Dialog", method: str, cseq: int) -> None:
        """A request of the caller in the call, along its route set to the PBX's Contact."""
        answer = dialog.answer
        routes = [f"Route: <{r}>" for r in reversed(route_set(answer))]
        self.send([f"{method} {_uri(header(answer, 'Contact'))} SIP/2.0",
                   f"Via: SIP/2.0/TLS {CARRIER}:{self.contact.port};branch=z9hG4bK"
                   + uuid.uuid4().hex[:12], *routes, f"From: {header(answer, 'From')}",
                   f"To: {header(answer, 'To')}", f"Call-ID: {dialog.call_id}",
                   f"CSeq: {cseq} {method}",
                   f"Contact: <sip:0466000001@{CARRIER}:{self.contact.port};transport=tls>",
                   "Max-Forwards: 70"])  # fmt: skip

    def refresh(self, dialog: "Dialog") -> str:
        """The caller's re-INVITE (a target refresh); the final answer, ACKed."""
        self._in_dialog(dialog, "INVITE", 2)
        answer = self.receive()
        while answer.startswith("SIP/2.0 1"):
            answer = self.receive()
        self._in_dialog(dialog, "ACK", 2)
        return answer

    def answer(self, request: str) -> None:
        """200 OK to a request the edge sent on this connection (with the carrier's own
        Contact, unaliased, when it answers a re-INVITE)."""
        copied = [f"{n}: {header(request, n)}" for n in ("From", "To", "Call-ID", "CSeq")]
        vias = [f"Via: {v}" for n, v in headers(request)[1] if n == "via"]
        if request.startswith("INVITE "):
            copied.append(f"Contact: <sip:0466000001@{CARRIER}:{self.contact.port};transport=tls>")
        self.send(["SIP/2.0 200 OK", *vias, *copied])

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.stream.close()
        self.contact.close()


@dataclass(frozen=True)
class Dialog:
    call_id: str
    answer: str


class UdpPbx:
    """A PBX: answers the edge's probes and calls, remembers each call as it received it
    (caller's Contact, route set), hangs up on demand; ``silent`` plays a dead PBX."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((HOST, 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.uri = f"sip:{HOST}:{self.port}"
        self.silent = False
        self.invites: dict[str, str] = {}
        #: Call-ID -> the caller's target once a refresh changed it
        self.targets: dict[str, str] = {}
        self.replies: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            if self.silent:
                continue
            message = data.decode(errors="replace").split("\r\n\r\n", 1)[0]
            first = message.split(CRLF, 1)[0]
            if first.startswith("SIP/2.0"):
                self.replies.append(message)
            elif first.startswith(("OPTIONS", "INVITE", "BYE")):
                if first.startswith("INVITE") and ";tag=" in header(message, "To"):
                    # the caller's target refresh: its Contact is the call's new target
                    self.targets[header(message, "Call-ID")] = _uri(header(message, "Contact"))
                elif first.startswith("INVITE"):
                    self.invites[header(message, "Call-ID")] = message
                self._reply(message, peer)

    def _reply(self, request: str, peer: tuple[str, int]) -> None:
        names = ("From", "Call-ID", "CSeq")
        lines = ["SIP/2.0 200 OK", *[f"Via: {v}" for n, v in headers(request)[1] if n == "via"]]
        lines += [f"{n}: {header(request, n)}" for n in names]
        to = header(request, "To")
        lines.append(f"To: {to}" if ";tag=" in to else f"To: {to};tag=pbx{self.port}")
        rr = [f"Record-Route: <{r}>" for r in route_set(request)]
        lines += [*rr, f"Contact: <sip:pbx@{HOST}:{self.port}>", "Content-Length: 0", "", ""]
        self.sock.sendto(CRLF.join(lines).encode(), peer)

    def _send(self, call_id: str, method: str, cseq: int, edge_port: int) -> None:
        """A request of the PBX's side of the call: to the caller's current target (its
        Contact as received, or as its last target refresh gave it), along the route set."""
        invite = self.invites[call_id]
        target = self.targets.get(call_id) or _uri(header(invite, "Contact"))
        lines = [f"{method} {target} SIP/2.0",
                 f"Via: SIP/2.0/UDP {HOST}:{self.port};branch=z9hG4bK{uuid.uuid4().hex[:12]}",
                 *[f"Route: <{r}>" for r in route_set(invite)],
                 f"From: {header(invite, 'To')};tag=pbx{self.port}",
                 f"To: {header(invite, 'From')}", f"Call-ID: {call_id}",
                 f"CSeq: {cseq} {method}", f"Contact: <sip:pbx@{HOST}:{self.port}>",
                 "Max-Forwards: 70", "Content-Length: 0", "", ""]  # fmt: skip
        self.sock.sendto(CRLF.join(lines).encode(), (HOST, edge_port))

    def final_reply(self, call_id: str, method: str, timeout: float = 10.0) -> str:
        """The final reply the PBX got to its request ``method`` in the call."""

        def found() -> list[str]:
            return [
                r
                for r in self.replies
                if header(r, "Call-ID") == call_id
                and header(r, "CSeq").endswith(f" {method}")
                and not r.startswith("SIP/2.0 1")
            ]

        wait_for(lambda: bool(found()), timeout, f"the final reply to the PBX's {method}")
        return found()[0]

    def refresh(self, call_id: str, edge_port: int) -> str:
        """A session refresh (re-INVITE, as a PBX's session timer sends): the caller's 2xx
        Contact becomes the call's new target (RFC 3261 12.2.1.2); ACKed. The final reply."""
        self._send(call_id, "INVITE", 2, edge_port)
        reply = self.final_reply(call_id, "INVITE")
        if reply.startswith("SIP/2.0 2"):
            self.targets[call_id] = _uri(header(reply, "Contact"))
            self._send(call_id, "ACK", 2, edge_port)
        return reply

    def hang_up(self, call_id: str, edge_port: int) -> None:
        """The ARM hangs up: a BYE to the caller's target, along the route set."""
        self._send(call_id, "BYE", 3, edge_port)

    def caller_contact(self, call_id: str) -> str:
        return header(self.invites[call_id], "Contact")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()
