"""The keeper's other rescue paths, live on 127.0.0.1: no PBX left (the caller goes to the
dropped-calls ledger, hears the prompt, then is released), a PBX that answers 481 (it lost
the call), and an INVITE the edge sent without the keeper's headers."""

import json
import socket
import uuid

import pytest

from tests.edge.harness import HOST, wait_for
from tests.keeper.lab import Lab, wait_answered
from tests.media.recordings import recording_of

pytestmark = pytest.mark.sip


def test_no_pbx_left_records_the_caller_for_call_back_and_releases_the_call(keeper_lab: Lab):
    lab = keeper_lab
    only = lab.pbx("pbx-a")
    keeper = lab.keeper()
    callers = lab.call(keeper, [only], 2, hold_ms=15_000, scenario="caller_released.xml")
    wait_answered(callers, 2)
    wait_for(lambda: len(lab.lines("pbx-a")) >= 2, 5, "the PBX to have the calls")
    only.kill()
    assert callers.wait(timeout=20) == 0, callers.log.read_text()[-2000:]
    text = callers.log.read_text()
    assert text.count("RELEASED ") == 2 and "NOT-RELEASED" not in text
    records = [json.loads(line) for line in keeper.ledger.read_text().splitlines()]
    assert sorted(r["callId"] for r in records) == sorted(callers.answered())
    for record in records:
        assert record["tenant"] == "samu-30" and record["caller"].startswith("0466")
        assert record["reason"] == "rescue failed: no PBX left in the dispatcher set"
        assert record["position"].startswith("arm-0") and record["queue"] == "general"
    reason = "no PBX left in the dispatcher set"
    assert keeper.metric("samu_keeper_rescue_failed_total", reason=reason, tenant="samu-30") == 2
    # each caller heard the prompt before the release (rtpengine played it)
    assert keeper.metric("samu_keeper_prompts_played_total", tenant="samu-30") == 2


def test_a_pbx_that_lost_the_call_answers_481_and_the_call_moves(keeper_lab: Lab):
    # an adopter's target refresh is the in-dialog request here; the PBX forgot the call
    lab = keeper_lab
    forgetful, b = lab.pbx("pbx-a", scenario="pbx_forgets.xml"), lab.pbx("pbx-b")
    first, peer = lab.keeper("keeper-a"), lab.keeper("keeper-b")
    callers = lab.call(first, [forgetful, b], 1, hold_ms=20_000)
    wait_answered(callers, 1)
    wait_for(lambda: len(lab.lines("pbx-a")) >= 1, 5, "the PBX to have the call")
    first.kill()
    [call_id] = callers.answered()
    wait_for(
        lambda: any(line[:2] == ["CALL", call_id] for line in lab.lines("pbx-b")), 5, "the rescue"
    )
    wait_for(
        lambda: peer.metric("samu_keeper_rescued_total", signal="response", tenant="samu-30") == 1,
        5, "the rescue counted under the response signal",
    )  # fmt: skip
    callers.stop()


def test_an_invite_without_the_edges_headers_is_refused_with_the_fix(keeper_lab: Lab):
    keeper = keeper_lab.keeper()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        sock.settimeout(5)
        port = sock.getsockname()[1]
        invite = "\r\n".join([
            f"INVITE sip:15@{HOST}:{keeper.port} SIP/2.0",
            f"Via: SIP/2.0/UDP {HOST}:{port};branch=z9hG4bK{uuid.uuid4().hex[:12]}",
            f"From: <sip:0466000001@{HOST}>;tag=a1", f"To: <sip:15@{HOST}>",
            f"Call-ID: {uuid.uuid4().hex}", "CSeq: 1 INVITE", f"Contact: <sip:c@{HOST}:{port}>",
            "Max-Forwards: 70", "X-Samu-Tenant: samu-30", "Content-Length: 0", "", "",
        ])  # fmt: skip
        sock.sendto(invite.encode(), (HOST, keeper.port))
        while True:
            reply = sock.recv(65535).decode()
            if not reply.startswith("SIP/2.0 1"):
                break
    assert reply.startswith("SIP/2.0 500 ")
    assert "X-Samu-Targets: the edge must list the tenant's PBX set" in reply


def test_a_pbx_moving_its_media_is_answered_by_the_keeper_and_the_caller_hears_nothing_of_it(
    keeper_lab: Lab,
):
    lab = keeper_lab
    mover = lab.pbx("pbx-a", scenario="pbx_moves.xml")
    keeper = lab.keeper()
    callers = lab.call(keeper, [mover], 2, hold_ms=4000)
    # caller.xml fails a call on any request from the keeper: no re-INVITE reached a caller
    assert callers.wait(timeout=30) == 0, callers.log.read_text()[-2000:]
    moved = [line for line in lab.lines("pbx-a") if line[0] == "MOVED"]
    assert sorted(line[1] for line in moved) == sorted(callers.answered())
    low = lab.rtpengine.port_min
    assert all(low <= int(line[2]) < low + lab.rtpengine.ports for line in moved), moved
    for call_id in callers.answered():
        streams = recording_of(lab.rtpengine, call_id).streams()
        # after the move the PBX's audio comes from its second port, and reaches rtpengine
        assert len(streams.get((HOST, lab.media_ports["pbx-a"] + 2), [])) > 50, list(streams)
    assert not any(name == "samu_keeper_rescued_total" for name, _ in keeper.metrics())


def test_a_dead_first_pbx_is_skipped_at_set_up(keeper_lab: Lab):
    lab = keeper_lab
    dead, b = lab.pbx("pbx-a"), lab.pbx("pbx-b")
    dead.kill()
    keeper = lab.keeper()
    callers = lab.call(keeper, [dead, b], 3, hold_ms=1000)
    assert callers.wait(timeout=30) == 0, callers.log.read_text()[-2000:]
    assert sorted(line[1] for line in lab.lines("pbx-b") if line[0] == "CALL") == sorted(
        callers.answered()
    )
    # one set-up timeout (SAMU_KEEPER_SETUP_TIMEOUT_S, 1 s) on the dead PBX, then the next
    assert all(1.0 <= s < 3.0 for s in callers.setup_seconds()), callers.setup_seconds()
