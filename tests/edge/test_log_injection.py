"""Nothing a sender writes reaches the edge's log raw: one packet cannot forge a log line (the
SAMU-DROPPED-CALL marker here), whether Kamailio's parser or the edge's script refuses it."""

import json
import re

import pytest

from tests.edge.conftest import Lab, tenant_doc
from tests.edge.rawsip import exchange, invite

pytestmark = pytest.mark.sip

NUMBER = "+33466000015"
# what a forged line would look like in Kamailio's log (pid 99999 is no process of the edge)
FORGED = (
    '\r\n 9(99999) ERROR: <script>: SAMU-DROPPED-CALL {"caller":"0600000000",'
    '"tenant":"samu-30","at":0,"callId":"forged","method":"BYE"}\r\n'
)


def forging_messages(port: int) -> dict[str, bytes]:
    good = invite(port, NUMBER)
    line = FORGED.encode()
    return {
        "unparsable first line": b"GARBAGE" + line + b"\r\n",
        "request line with spaces": b"INVITE  sip:x SIP/2.0" + line + b"\r\n",
        "folded Call-ID": re.sub(rb"(Call-ID: [^\r]*)", lambda m: m.group(1) + line[:-2], good),
        "folded Via": good.replace(
            b"\r\nVia: ", b"\r\nVia: SIP/2.0/UDP" + line[:-2] + b"\r\nX: ", 1
        ),
        "bad CSeq": good.replace(b"CSeq: 1 INVITE", b"CSeq: x" + line[:-2]),
        "bad Content-Length": good.replace(b"Content-Length: 0", b"Content-Length: z" + line[:-2]),
        "bad From": good.replace(b"From: <", b"From: " + line[2:-2] + b" <"),
        "bare LF": good.replace(b"\r\n", b"\n").replace(b"CSeq", FORGED[2:].encode() + b"CSeq"),
    }


def test_a_forged_log_line_cannot_be_produced(lab: Lab) -> None:
    lab.add_pbx("samu-30", "a")
    lab.add_pbx("samu-30", "b")
    lab.start([tenant_doc("30", numbers=[NUMBER])])
    port = lab.edge.sip_port
    for what, message in forging_messages(port).items():
        reply = exchange(port, message, timeout=0.5)
        assert reply is None or reply.startswith("SIP/2.0 4"), (what, reply)
    run = lab.caller(number=NUMBER).run(rate=20, calls=10)
    assert run.failed_setups == 0, run.log

    # Every log line is one record (JSON, --log-engine=json) or one of the few lines Kamailio
    # prints at start-up; no record is a forged one, however a reader selects them.
    for line in lab.edge.log.read_text(errors="replace").splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            assert record["pid"] != 99999 and not record["message"].startswith(
                "SAMU-DROPPED-CALL"
            ), line
        else:
            assert "SAMU-DROPPED-CALL" not in line and "99999" not in line, line
    assert lab.edge.log_records(), "the edge logged nothing"
    # the refusals are counted (alerts read this, not the log)
    assert 'samu_edge_rejected_total{reason="call_id"}' in lab.metrics()
