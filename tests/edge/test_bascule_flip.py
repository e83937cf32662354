"""A bascule flip at the real edge (Kamailio + SIPp on 127.0.0.1), with the tables the
operator renders and the edge config as it is: new calls move to the other side within the
reload, calls in progress end on the side they started (their BYE follows the signed
Record-Route to the old platform's trunk after the flip), 0 failed set-ups; the old platform
down in legacy mode sends calls to the PBX (fallback platform).

The old platform is a SIPp stand-in reached over UDP here (the lab's address override): the
TLS trunk itself is tested in test_tls.py's way once the edge's config opens TLS towards it.
"""

import time
from typing import Any

import pytest

from tests.edge.conftest import Lab, tenant_doc
from tests.edge.rawsip import invite
from tests.edge.test_in_dialog import ATTACKER, Listener, Peer, header

pytestmark = pytest.mark.sip

NUMBER = "+33466000015"


def _samu30(mode: str) -> dict[str, Any]:
    doc = tenant_doc("30", numbers=[NUMBER])
    doc["spec"]["routing"] = {
        "mode": mode,
        "legacy": {"trunks": ["sips:sbc1.crra30.example.fr:5061"]},
        "fallbacks": ["platform", "legacy", "secours"],
        "secours": [{"number": "+33466000099"}],
    }
    return doc


def _flip(lab: Lab, caller_hold_ms: int, to: str, frm: str) -> None:
    """Calls at 50/s; flip from ``frm`` to ``to`` 1.2 s in; every call checked."""
    caller = lab.caller(number=NUMBER).start(rate=50, calls=120, hold_ms=caller_hold_ms)
    time.sleep(1.2)
    dispatcher_before = lab.edge.files.dispatcher.read_text()
    flipped_at = time.time()
    result = lab.apply([_samu30(to)])
    reloaded_at = time.time()
    run = caller.wait(timeout=30)

    assert result.changed and result.reload_seconds < 1.0, result
    # one table: the dispatcher list (and with it the probes' state) is left alone
    assert lab.edge.files.dispatcher.read_text() == dispatcher_before
    assert run.failed_setups == 0, run.log
    # every call ends where it started: its BYE reached the side that answered it
    assert [c for c in run.calls if c.result != "ok"] == [], run.log
    side = {"legacy": "samu-30-legacy-1", "platform": "samu-30-a"}
    before = [c for c in run.calls if c.answer < flipped_at]
    after = [c for c in run.calls if c.start > reloaded_at]
    assert before and {c.pbx for c in before} == {side[frm]}, run.by_pbx()
    assert after and {c.pbx for c in after} == {side[to]}, run.by_pbx()
    # calls in progress at the flip were still up on the old side when it happened
    assert [c for c in before if c.answer + caller_hold_ms / 1000 > reloaded_at]


def test_flip_to_the_platform_and_back_moves_new_calls_only(lab: Lab) -> None:
    lab.add_pbx("samu-30", "a")
    lab.add_pbx("samu-30", "b")
    lab.add_pbx("samu-30", "legacy-1")  # the old platform's trunk (its stand-in)
    lab.start([_samu30("legacy")])
    _flip(lab, 1000, to="platform", frm="legacy")
    _flip(lab, 1000, to="legacy", frm="platform")  # the rollback


def test_old_platform_down_in_legacy_mode_calls_reach_the_pbx(lab: Lab) -> None:
    lab.add_pbx("samu-30", "a")
    lab.add_pbx("samu-30", "b")
    legacy = lab.add_pbx("samu-30", "legacy-1")
    lab.start([_samu30("legacy")])
    legacy.freeze()  # its site is cut off: no answer at all
    run = lab.caller(number=NUMBER).run(rate=20, calls=20)
    assert run.failed_setups == 0, run.log
    assert run.by_pbx() == {"samu-30-a": 20}


def test_a_legacy_calls_signed_route_reaches_its_trunk_only_after_the_flip(lab: Lab) -> None:
    """The next-hop rule for a call on the old platform: after the flip its Route still
    reaches its trunk (the set it entered, 1030, keeps it), and nothing else."""
    lab.add_pbx("samu-30", "a")
    lab.add_pbx("samu-30", "b")
    lab.add_pbx("samu-30", "legacy-1")
    other = Listener("127.0.0.6")  # another SAMU's PBX: a destination the edge routes to
    lab.addresses["samu-66/a"] = lab.addresses["samu-66/b"] = other.uri
    samu66 = tenant_doc("66", numbers=["+33468000015"])
    lab.start([_samu30("legacy"), samu66])
    peer = Peer(lab.edge.sip_port)
    call = invite(lab.edge.sip_port, NUMBER).replace(
        b"127.0.0.1:{lport}", f"{ATTACKER}:{{lport}}".encode()
    )
    peer.send(call)
    answer = peer.final()
    assert answer is not None and answer.startswith("SIP/2.0 200"), answer
    assert header(answer, "X-Pbx") == "samu-30-legacy-1"
    signed = header(answer, "Record-Route")
    assert "ds=1030;" in signed, signed
    to_tag = header(answer, "To").rsplit("tag=", 1)[1]
    from_tag = header(answer, "From").rsplit("tag=", 1)[1]
    trunk = header(answer, "Contact").strip("<>")

    def dialog(method: str, ruri: str) -> bytes:
        message = peer.request(method, ruri, header(answer, "Call-ID"), route=signed, to_tag=to_tag)
        return message.replace(b"tag=f1", f"tag={from_tag}".encode())

    peer.send(dialog("ACK", trunk).replace(b"CSeq: 2 ACK", b"CSeq: 1 ACK"))
    peer.taken = True
    lab.apply([_samu30("platform"), samu66])  # the flip, the call in progress
    peer.send(dialog("BYE", other.uri))
    reply = peer.final()
    assert reply is not None and reply.startswith("SIP/2.0 403"), reply
    assert other.received(0.5) == []
    peer.send(dialog("BYE", trunk))
    reply = peer.final()
    assert reply is not None and reply.startswith("SIP/2.0 200"), reply
