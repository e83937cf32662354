"""Odd INVITEs while 15 calls flow: the door refuses what the edge could never route cleanly,
and an INVITE a PBX ignores moves that call on without taking the PBX out of routing."""

import re
import threading
import time
from pathlib import Path

import pytest

from tests.edge.conftest import Lab, tenant_doc
from tests.edge.harness import SCENARIOS
from tests.edge.rawsip import exchange, invite

pytestmark = pytest.mark.sip

NUMBER = "+33466000015"


def ignoring_pbx_scenario(workdir: Path) -> str:
    """pbx.xml, except that it silently drops every INVITE from a caller named "odd" (as a PBX
    drops a message it cannot parse): no 100, no final reply, no ACK expected."""
    text = (SCENARIOS / "pbx.xml").read_text()
    recv = '<recv request="INVITE" crlf="true"/>'
    assert recv in text
    text = text.replace(
        recv,
        recv.replace("/>", ">")
        + '<action><ereg regexp="sip:odd@" search_in="hdr" header="From:" assign_to="odd"/>'
        + '</action></recv><nop test="odd" next="end"/>',
    )
    path = workdir / "pbx_ignores_odd.xml"
    path.write_text(text)
    return str(path)


def door_cases(port: int) -> dict[str, bytes]:
    """One INVITE per kind of oddity the door refuses, by the reason it is counted under."""
    good = invite(port, NUMBER)
    long_call_id = re.sub(rb"Call-ID: [^\r]*", b"Call-ID: " + b"c" * 300, good)
    folded = re.sub(rb"(Call-ID: [^\r]*)", rb"\1\r\n folded", good)
    bare_lf = good.replace(b"\r\n", b"\n")
    many = invite(port, NUMBER, extra=tuple(f"X-Odd-{i}: {i}" for i in range(100)))
    vias = invite(
        port,
        NUMBER,
        extra=tuple(f"Via: SIP/2.0/UDP 10.0.0.{i};branch=z9hG4bK{i}" for i in range(30)),
    )
    large = invite(port, NUMBER, extra=("X-Padding: " + "p" * 9000,))
    return {
        "call_id": long_call_id,
        "call_id ": folded,
        "line_endings": bare_lf,
        "too_many_headers": many,
        "too_many_headers ": vias,
        "too_large": large,
    }


def test_odd_invites_while_calls_flow_cost_no_legitimate_call(lab: Lab) -> None:
    scenario = ignoring_pbx_scenario(lab.workdir)
    for key in ("samu-30/a", "samu-30/b", "samu-34/a", "samu-34/b"):
        tenant, zone = key.split("/")
        lab.add_pbx(tenant, zone, scenario=scenario)
    lab.start(
        [
            tenant_doc("30", numbers=[NUMBER], partner="samu-34"),
            tenant_doc("34", numbers=["+33467000015"]),
        ]
    )
    port = lab.edge.sip_port
    caller = lab.caller(number=NUMBER).start(rate=10, calls=120, hold_ms=200)

    refused: dict[str, str | None] = {}
    ignored: list[str | None] = []

    def ignored_invite() -> None:
        message = invite(port, NUMBER).replace(b"<sip:0466000001@", b"<sip:odd@")
        ignored.append(exchange(port, message, timeout=10))

    senders: list[threading.Thread] = []
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        for reason, message in door_cases(port).items():
            refused[reason] = exchange(port, message, timeout=2)
        for _ in range(3):
            sender = threading.Thread(target=ignored_invite)
            sender.start()
            senders.append(sender)
        time.sleep(0.5)
    for sender in senders:
        sender.join(20)

    run = caller.wait(120)
    assert run.failed_setups == 0, f"{run.failed_setups} legitimate calls failed ({run.log})"
    # the SAMU's active PBX was never taken out of routing: every call stayed on it
    assert run.by_pbx() == {"samu-30-a": run.planned}, run.by_pbx()
    assert refused == {reason: "SIP/2.0 400 Bad Request" for reason in refused}, refused
    # every INVITE the PBX ignored failed on its own (tried on each PBX, then the partner's)
    assert ignored and all(s is not None and s[8] in "45" for s in ignored), ignored
    assert set(lab.edge.dispatcher_flags().values()) == {"AP"}, lab.edge.dispatcher_flags()
    metrics = lab.metrics()
    for reason in {r.strip() for r in refused}:
        assert f'samu_edge_rejected_total{{reason="{reason}"}}' in metrics, reason
