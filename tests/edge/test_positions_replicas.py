"""Two edges of the chart sharing their registrations (DMQ + dmq_usrloc, as the chart runs
them), and a PBX failover: a phone registers once, at one edge, and is rung through either
edge by the active PBX, then by the standby once the operator has promoted it, with no
re-registration; the fenced PBX can ring it no more.
"""

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.edge.conftest import tenant_doc
from tests.edge.harness import HOST, Kamailio, Rtpengine, free_port, missing_binaries, wait_for
from tests.edge.positions_lab import (
    EdgeAt,
    PbxAt,
    Phone,
    Positions,
    contacts,
    edge_sync,
    invite_from,
    running,
    tenant,
)

pytestmark = [
    pytest.mark.sip,
    pytest.mark.skipif(
        bool(missing_binaries()), reason="kamailio, sipp or rtpengine (Debian) not installed"
    ),
]

ACCOUNT = "samu-30-arm-01"


def _doc(active: str, epoch: int, roles: dict[str, str] | None = None) -> dict:
    doc = tenant_doc("30", zones=("a", "b"), active=active, epoch=epoch, roles=roles)
    return tenant(doc, ["127.0.0.1/32"])


class Replicas:
    """Edges e1 and e2 (one key, DMQ peers of each other), samu-30's PBX in zones a (active,
    127.0.0.2) and b (standby, 127.0.0.3), one rtpengine."""

    def __init__(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.pbx = {
            "samu-30/a": PbxAt("samu-30-a", workdir, "127.0.0.2"),
            "samu-30/b": PbxAt("samu-30-b", workdir, "127.0.0.3"),
        }
        self.positions = Positions([_doc("a", 1)])
        self.rtpengine = Rtpengine(workdir / "rtpengine")
        dmq = [free_port(), free_port()]
        key = Kamailio(workdir).rr_key
        self.edges = []
        for n, (mine, peer) in enumerate(((dmq[0], dmq[1]), (dmq[1], dmq[0])), 1):
            edge = EdgeAt(
                workdir / f"e{n}",
                defines={"EDGE_PROBE_THRESHOLD": "2"},
                rr_key=key,
                ip=f"127.0.1.{n}",
            )
            edge.defines |= {
                "WITH_DMQ": "",
                "EDGE_DMQ_LISTEN": f"udp:{HOST}:{mine}",
                "EDGE_DMQ_ADDRESS": f'"sip:{HOST}:{mine}"',
                "EDGE_DMQ_PEERS": f'"sip:{HOST}:{peer}"',
                "EDGE_DMQ_PORT": str(mine),
                "EDGE_NODE_ADDR": f'"{edge.ip}:{edge.sip_port}"',
            }
            self.edges.append(edge)
        self.phones: list[Phone] = []

    @property
    def addresses(self) -> dict[str, str]:
        return {key: p.uri for key, p in self.pbx.items()}

    def start(self) -> "Replicas":
        for pbx in self.pbx.values():
            pbx.start()
        self.rtpengine.start()
        for edge in self.edges:
            self.positions.write(edge.files, self.addresses)
            edge.defines["EDGE_RTPENGINE_SOCK"] = f'"{self.rtpengine.sock}"'
            edge.start()

        def peers() -> bool:
            return all(len(e.rpc.call("dmq.list_nodes") or []) >= 2 for e in self.edges)

        wait_for(peers, 10, "the two edges to know each other (DMQ)")
        return self

    def registered_phone(self) -> Phone:
        """The position's phone, registered once at e1, known to e2, answering."""
        e1, e2 = self.edges
        phone = Phone(ACCOUNT, self.workdir)
        self.phones.append(phone)
        assert phone.register(e1, self.positions.password(ACCOUNT)) == 200
        wait_for(lambda: contacts(e2, ACCOUNT) != [], 5, "e2 to learn the registration (DMQ)")
        return phone.start()

    def stop(self) -> None:
        for thing in [*self.phones, *self.edges, self.rtpengine, *self.pbx.values()]:
            thing.stop()


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[Replicas]:
    with running(lambda attempt: Replicas(tmp_path / f"try{attempt}")) as lab:
        yield lab


def test_registered_at_one_edge_rung_through_the_other(replicas: Replicas) -> None:
    e1, e2 = replicas.edges
    phone = replicas.registered_phone()
    run = replicas.pbx["samu-30/a"].dial(e2, ACCOUNT)
    assert len(run["answered"]) == 1 and run["ended"] == run["answered"], run
    assert [line.split()[0] for line in phone.rang(1)] == run["answered"]
    # e2 relayed the call to e1 (the Path of the registration), where the phone's binding is:
    # the call's Record-Route names e1 only
    msg = (replicas.workdir / "samu-30-a-dial1.msg").read_text()
    assert f"Record-Route: <sip:{e1.ip}:{e1.sip_port};" in msg
    assert f"Record-Route: <sip:{e2.ip}:" not in msg


def test_after_a_pbx_failover_the_standby_rings_the_same_registration(replicas: Replicas) -> None:
    e1, e2 = replicas.edges
    phone = replicas.registered_phone()
    before = replicas.pbx["samu-30/a"].dial(e1, ACCOUNT)
    assert len(before["answered"]) == 1, before

    # zone a is lost; the operator promotes b (epoch 2) and fences a: each edge's sidecar
    # rewrites its dispatcher list and reloads it
    replicas.pbx["samu-30/a"].stop()
    promoted = [_doc("b", 2, roles={"a": "fenced"})]
    for edge in replicas.edges:
        assert edge_sync(edge, replicas.addresses).apply(promoted).changed

    standby = replicas.pbx["samu-30/b"]
    for edge in (e1, e2):
        run = standby.dial(edge, ACCOUNT)
        assert len(run["answered"]) == 1 and run["ended"] == run["answered"], (edge, run)
    assert len(phone.rang(3)) == 3
    assert phone.registers == 1  # rung by the standby with no new registration
    # the fenced PBX (back from the dead) rings no position
    assert invite_from("127.0.0.2", e2, ACCOUNT) == "SIP/2.0 403 Forbidden"


def test_edge_messages_are_taken_on_the_dmq_port_only(replicas: Replicas) -> None:
    """A KDMQ (an edge's registrations) sent to the SIP port is refused: nobody reaching SIP
    can write a registration."""
    e1, _ = replicas.edges
    body = (
        '{"action":1,"aor":"samu-30-arm-01","ruid":"forged","c":"sip:x@203.0.113.9",'
        '"received":"","path":"","callid":"f","user_agent":"","instance":"",'
        '"expires":9999999999,"cseq":1,"flags":0,"cflags":0,"q":-1,"last_modified":0,'
        '"methods":4294967295,"reg_id":0,"server_id":0}'
    )
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(3)
        lport = sock.getsockname()[1]
        msg = "\r\n".join(
            [
                f"KDMQ sip:usrloc@{e1.ip}:{e1.sip_port} SIP/2.0",
                f"Via: SIP/2.0/UDP 127.0.0.1:{lport};branch=z9hG4bKdmq1;rport",
                "From: <sip:usrloc@127.0.0.1>;tag=d1",
                f"To: <sip:usrloc@{e1.ip}:{e1.sip_port}>",
                "Call-ID: dmq-forged",
                "CSeq: 1 KDMQ",
                "Max-Forwards: 1",
                "Content-Type: application/json",
                f"Content-Length: {len(body)}",
                "",
                body,
            ]
        )
        sock.sendto(msg.encode(), (e1.ip, e1.sip_port))
        reply = sock.recv(65535).decode()
    assert reply.startswith("SIP/2.0 400"), reply
    assert contacts(e1, ACCOUNT) == []


def test_a_restarted_edge_gets_every_registration_from_the_others(replicas: Replicas) -> None:
    e2 = replicas.edges[1]
    phone = replicas.registered_phone()
    e2.stop()
    e2.start()
    wait_for(lambda: contacts(e2, ACCOUNT) != [], 10, "the restarted e2 to sync from e1 (DMQ)")
    run = replicas.pbx["samu-30/a"].dial(e2, ACCOUNT)
    assert len(run["answered"]) == 1 and run["ended"] == run["answered"], run
    assert phone.registers == 1
