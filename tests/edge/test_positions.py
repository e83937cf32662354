"""The ARMs' phones at the edge of the chart (real Kamailio, rtpengine and SIPp on 127.0.0.0/8):
a position registers with the password the operator derives, from its centre's site ranges
only, and its tenant's PBX rings it through the edge; nobody else can.
"""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.edge.conftest import tenant_doc
from tests.edge.harness import Kamailio, Rtpengine, missing_binaries, wait_for
from tests.edge.positions_lab import (
    PbxAt,
    Phone,
    Positions,
    TcpPhone,
    contacts,
    edge_sync,
    in_call_request,
    invite_from,
    position_route_sig,
    running,
    tenant,
)

pytestmark = [
    pytest.mark.sip,
    pytest.mark.skipif(
        bool(missing_binaries()), reason="kamailio, sipp or rtpengine (Debian) not installed"
    ),
]


class Lab:
    """samu-30 (PBX at 127.0.0.2, phones from 127.0.0.1) and samu-2a (PBX at 127.0.0.4, phones
    from 10.120.0.0/16 only) behind one edge."""

    def __init__(self, workdir: Path) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        self.workdir = workdir
        self.pbx = {
            "samu-30/a": PbxAt("samu-30-a", workdir, "127.0.0.2"),
            "samu-2a/a": PbxAt("samu-2a-a", workdir, "127.0.0.4"),
        }
        self.docs = [
            tenant(tenant_doc("30", zones=("a", "b"), ready={"b": False}), ["127.0.0.1/32"]),
            tenant(tenant_doc("2A", zones=("a", "b"), ready={"b": False}), ["10.120.0.0/16"]),
        ]
        self.positions = Positions(self.docs)
        self.rtpengine = Rtpengine(workdir / "rtpengine")
        self.edge = Kamailio(workdir / "edge", defines={"EDGE_PROBE_THRESHOLD": "2"})
        self.phones: list[Phone] = []

    def start(self) -> "Lab":
        for pbx in self.pbx.values():
            pbx.start()
        addresses = {key: p.uri for key, p in self.pbx.items()}
        addresses |= {"samu-30/b": "sip:127.0.0.3:5060", "samu-2a/b": "sip:127.0.0.5:5060"}
        self.positions.write(self.edge.files, addresses)
        self.rtpengine.start()
        self.edge.defines["EDGE_RTPENGINE_SOCK"] = f'"{self.rtpengine.sock}"'
        self.edge.start()
        return self

    def phone(self, account: str, **kw: Any) -> Phone:
        phone = Phone(account, self.workdir, **kw)
        self.phones.append(phone)
        return phone

    def stop(self) -> None:
        for thing in [*self.phones, self.edge, self.rtpengine, *self.pbx.values()]:
            thing.stop()


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    with running(lambda attempt: Lab(tmp_path / f"try{attempt}")) as lab:
        yield lab


def test_a_position_registers_with_its_generated_password(lab: Lab) -> None:
    phone = lab.phone("samu-30-arm-01")
    assert phone.register(lab.edge, lab.positions.password("samu-30-arm-01")) == 200
    (contact,) = contacts(lab.edge, "samu-30-arm-01")
    # saved with the Path of this edge and the phone's source (behind its NAT)
    assert f"127.0.0.1:{phone.port}" in str(contact)


def test_a_wrong_password_is_refused_and_nothing_is_registered(lab: Lab) -> None:
    phone = lab.phone("samu-30-arm-02")
    assert phone.register(lab.edge, "not-its-password") == 401
    # another position's password is no better
    assert phone.register(lab.edge, lab.positions.password("samu-30-arm-01")) == 401
    assert contacts(lab.edge, "samu-30-arm-02") == []


def test_a_positions_credentials_register_that_position_only(lab: Lab) -> None:
    phone = lab.phone("samu-30-arm-02")
    password = lab.positions.password("samu-30-arm-01")
    assert phone.register(lab.edge, password, auth_user="samu-30-arm-01") == 403
    assert contacts(lab.edge, "samu-30-arm-02") == []
    # nor another SAMU's position, even with its own valid credentials
    other = lab.phone("samu-2a-arm-01")
    password = lab.positions.password("samu-2a-arm-01")
    assert other.register(lab.edge, password, realm="samu-30") in (401, 403)
    assert contacts(lab.edge, "samu-2a-arm-01") == []


def test_a_source_outside_the_centres_ranges_is_refused(lab: Lab) -> None:
    """samu-2a's phones register from 10.120.0.0/16 only; this one comes from 127.0.0.1."""
    phone = lab.phone("samu-2a-arm-01")
    assert phone.register(lab.edge, lab.positions.password("samu-2a-arm-01")) == 403
    assert contacts(lab.edge, "samu-2a-arm-01") == []


def test_the_tenants_pbx_rings_a_registered_position_through_the_edge(lab: Lab) -> None:
    phone = lab.phone("samu-30-arm-01")
    assert phone.register(lab.edge, lab.positions.password("samu-30-arm-01")) == 200
    phone.start()
    run = lab.pbx["samu-30/a"].dial(lab.edge, "samu-30-arm-01")
    assert len(run["answered"]) == 1 and run["ended"] == run["answered"], run
    # the phone answered it (its private Contact unreachable: the edge used its source) and
    # got the PBX's BYE
    assert [line.split()[0] for line in phone.rang(1)] == run["answered"]


def test_a_phone_on_tcp_is_rung_over_its_own_connection(lab: Lab) -> None:
    """Behind a NAT (or the SIP edge LB) only the phone's own connection reaches it: the call,
    the PBX's ACK and BYE all come over it, never over a new one."""
    phone = TcpPhone(lab.edge, "samu-30-arm-02")
    try:
        assert phone.register(lab.positions.password("samu-30-arm-02")) == 200
        phone.answer_one_call()
        run = lab.pbx["samu-30/a"].dial(lab.edge, "samu-30-arm-02")
        phone.wait()
        assert len(run["answered"]) == 1 and run["ended"] == run["answered"], run
        assert phone.methods == ["INVITE", "ACK", "BYE"]
    finally:
        phone.close()
    # one TCP connection at the edge: the phone's (the PBX talks UDP)
    assert lab.edge.rpc.call("core.tcp_info")["opened_connections"] <= 1


def test_another_samus_pbx_cannot_ring_a_position(lab: Lab) -> None:
    phone = lab.phone("samu-30-arm-01")
    assert phone.register(lab.edge, lab.positions.password("samu-30-arm-01")) == 200
    assert invite_from("127.0.0.4", lab.edge, "samu-30-arm-01") == "SIP/2.0 403 Forbidden"
    # nor anyone else (a phone, the carrier)
    assert invite_from("127.0.0.9", lab.edge, "samu-30-arm-01") == "SIP/2.0 403 Forbidden"


def test_an_unregistered_position_gets_480_at_once(lab: Lab) -> None:
    status = invite_from("127.0.0.2", lab.edge, "samu-30-arm-02")
    assert status == "SIP/2.0 480 Temporarily Unavailable"
    # an account of no tenant: the unknown number's 404
    assert invite_from("127.0.0.2", lab.edge, "samu-99-arm-01") == "SIP/2.0 404 Not Found"


def test_new_positions_and_site_ranges_apply_at_run_time(lab: Lab) -> None:
    """The sidecar rewrites the tables when a tenant's edge-positions Secret changes: a
    position added and a site range added register with no restart of the edge."""
    doc = lab.docs[1]  # samu-2a: 2 positions, phones from 10.120.0.0/16 only
    phone = lab.phone("samu-2a-arm-03")
    assert phone.register(lab.edge, lab.positions.password("samu-2a-arm-03")) == 403
    doc["spec"]["siteRanges"] = ["10.120.0.0/16", "127.0.0.1/32"]
    doc["spec"]["capacity"]["agents"] = 3
    sync = edge_sync(lab.edge, {})
    assert sync.apply_positions(lab.positions.parsed()) is True
    assert phone.register(lab.edge, lab.positions.password("samu-2a-arm-03")) == 200
    # and a range removed refuses the next registration
    doc["spec"]["siteRanges"] = ["10.120.0.0/16"]
    assert sync.apply_positions(lab.positions.parsed()) is True
    # permissions takes one reload a second: the sidecar's next pass retries a refused one
    wait_for(lambda: not sync._ranges_due or sync.reload_site_ranges(), 5, "the reload")
    assert phone.register(lab.edge, lab.positions.password("samu-2a-arm-03")) == 403


def test_in_call_requests_of_a_position_call_need_the_edges_signature(lab: Lab) -> None:
    """No relay through a position call's Route: forged, or signed but from/to anyone else."""
    call_id, ftag = "c-1@127.0.0.2", "pbxtag"
    sig = position_route_sig(lab.edge.rr_key, call_id, ftag, 30)
    signed = f"ftag={ftag};pos=30;sig={sig}"

    def bye(source, params, from_tag, ruri="sip:x@127.0.0.9:5060"):
        return in_call_request(
            lab.edge, source=source, route_params=params, call_id=call_id, from_tag=from_tag,
            ruri=ruri,
        )  # fmt: skip

    assert bye("127.0.0.1", f"ftag={ftag};pos=30;sig={'0' * 24}", "phonetag") == (
        "SIP/2.0 403 Forbidden"
    )
    assert bye("127.0.0.1", f"ftag={ftag};pos=201;sig={sig}", "phonetag") == (
        "SIP/2.0 403 Forbidden"
    )  # the signature names the set: not valid for another SAMU's
    # the phone's side towards a host that is no PBX of samu-30
    assert bye("127.0.0.1", signed, "phonetag") == "SIP/2.0 403 Forbidden"
    # the PBX's side (its From tag) from anyone but a PBX of samu-30
    assert bye("127.0.0.4", signed, ftag) == "SIP/2.0 403 Forbidden"
    text = _metrics(lab)
    for reason in ("unsigned_route", "next_hop", "not_from_pbx"):
        assert f'kamailio_samu_edge_rejected_total{{reason="{reason}"}}' in text, reason


def _metrics(lab: Lab) -> str:
    import urllib.request

    with urllib.request.urlopen(lab.edge.metrics_url, timeout=5) as response:
        return response.read().decode()
