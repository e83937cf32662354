"""In-dialog requests only for calls the edge routed: a forged, unsigned or replayed Route, or a
next hop that is not the call's PBX, gets a 4xx and reaches no one."""

import re
import socket
import uuid

import pytest

from tests.edge.conftest import Lab, tenant_doc
from tests.edge.harness import HOST
from tests.edge.rawsip import invite

pytestmark = pytest.mark.sip

NUMBER = "+33466000015"
ATTACKER = "127.0.0.3"


class Listener:
    """A UDP socket that must receive nothing but the edge's OPTIONS probes."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((address, 0))
        self.uri = f"sip:{address}:{self.sock.getsockname()[1]}"

    def received(self, wait: float) -> list[str]:
        self.sock.settimeout(wait)
        got: list[str] = []
        try:
            while True:
                data, _ = self.sock.recvfrom(65535)
                first = data.decode(errors="replace").split("\r\n", 1)[0]
                if not first.startswith("OPTIONS "):
                    got.append(first)
        except TimeoutError:
            return got


class Peer:
    """A caller on ATTACKER's address with one socket: sends requests, reads final replies."""

    def __init__(self, edge_port: int) -> None:
        self.edge_port = edge_port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ATTACKER, 0))
        self.port = self.sock.getsockname()[1]

    def send(self, message: bytes) -> None:
        self.sock.sendto(
            message.replace(b"{lport}", str(self.port).encode()), (HOST, self.edge_port)
        )

    def final(self, timeout: float = 3.0) -> str | None:
        self.sock.settimeout(timeout)
        try:
            while True:
                reply = self.sock.recvfrom(65535)[0].decode(errors="replace")
                if not reply.startswith("SIP/2.0 1") and not self.answered(reply):
                    return reply
        except TimeoutError:
            return None

    def answered(self, reply: str) -> bool:
        """A retransmission of the call's 200 OK (its INVITE's CSeq), once it is taken."""
        return self.taken and "\r\nCSeq: 1 INVITE\r\n" in reply

    taken = False

    def request(
        self, method: str, ruri: str, call_id: str, *, route: str | None, to_tag: str = "t1"
    ) -> bytes:
        lines = [
            f"{method} {ruri} SIP/2.0",
            f"Via: SIP/2.0/UDP {ATTACKER}:{{lport}};branch=z9hG4bK{uuid.uuid4().hex[:16]}",
            f"From: <sip:0466000001@{HOST}>;tag=f1",
            f"To: <sip:{NUMBER}@{HOST}>;tag={to_tag}",
            f"Call-ID: {call_id}",
            f"CSeq: 2 {method}",
            "Max-Forwards: 70",
        ]
        if route is not None:
            lines.append(f"Route: {route}")
        return "\r\n".join([*lines, "Content-Length: 0", "", ""]).encode()


def header(message: str, name: str) -> str:
    found = re.search(rf"^{name}: *(.*?)\r$", message, re.M | re.I)
    assert found, f"no {name} in {message}"
    return found.group(1)


def test_in_dialog_relay_attempts_get_4xx_and_reach_no_one(lab: Lab) -> None:
    lab.add_pbx("samu-30", "a")
    lab.add_pbx("samu-30", "b")
    anyone = Listener("127.0.0.5")  # any host on the internet
    other = Listener("127.0.0.6")  # another SAMU's PBX, a destination the edge routes to
    lab.addresses["samu-66/a"] = other.uri
    lab.addresses["samu-66/b"] = other.uri
    lab.start([tenant_doc("30", numbers=[NUMBER]), tenant_doc("66", numbers=["+33468000015"])])
    peer = Peer(lab.edge.sip_port)

    # A real call, answered: its Record-Route is the edge's signed one.
    call = invite(lab.edge.sip_port, NUMBER).replace(
        f"{HOST}:{{lport}}".encode(), f"{ATTACKER}:{{lport}}".encode()
    )
    peer.send(call)
    answer = peer.final()
    assert answer is not None and answer.startswith("SIP/2.0 200"), answer
    call_id = header(answer, "Call-ID")
    to_tag = header(answer, "To").rsplit("tag=", 1)[1]
    from_tag = header(answer, "From").rsplit("tag=", 1)[1]
    signed = header(answer, "Record-Route")
    pbx_contact = header(answer, "Contact").strip("<>")
    assert "sig=" in signed and "samu-" not in signed, signed

    def dialog(method: str, ruri: str, route: str | None, cid: str = call_id) -> bytes:
        return peer.request(method, ruri, cid, route=route, to_tag=to_tag).replace(
            b"tag=f1", f"tag={from_tag}".encode()
        )

    peer.send(dialog("ACK", pbx_contact, signed).replace(b"CSeq: 2 ACK", b"CSeq: 1 ACK"))
    peer.taken = True

    edge = f"<sip:{HOST}:{lab.edge.sip_port};lr>"
    # the route of a call of SAMU 66 (its set: 66), signature made up
    forged = re.sub(r"sig=[0-9a-f]+", "sig=" + "0" * 24, re.sub(r"ds=\d+", "ds=66", signed))
    attempts = {
        "no Route, any host": dialog("BYE", anyone.uri, None),
        "unsigned Route, any host": dialog("BYE", anyone.uri, edge),
        "forged signature, other SAMU's PBX": dialog("INVITE", other.uri, forged),
        "the call's Route, any host": dialog("INFO", anyone.uri, signed),
        "the call's Route, other SAMU's PBX": dialog("BYE", other.uri, signed),
        "the call's Route on another Call-ID": dialog(
            "BYE", other.uri, re.sub(r"ds=\d+", "ds=66", signed), cid="x@evil"
        ),
    }
    for what, message in attempts.items():
        peer.send(message)
        reply = peer.final()
        assert reply is not None and reply.startswith("SIP/2.0 4"), (what, reply)
    # ACKs get no reply: they must be dropped all the same
    peer.send(dialog("ACK", anyone.uri, signed))
    peer.send(dialog("ACK", other.uri, edge))

    assert anyone.received(1.0) == []
    assert other.received(0.5) == []
    metrics = lab.metrics()
    for reason in ("no_dialog", "unsigned_route", "next_hop"):
        assert f'samu_edge_rejected_total{{reason="{reason}"}}' in metrics, reason

    # the call's own requests along its signed Route still reach its PBX
    peer.send(dialog("BYE", pbx_contact, signed))
    reply = peer.final()
    assert reply is not None and reply.startswith("SIP/2.0 200"), reply
