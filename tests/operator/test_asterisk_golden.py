"""The PBX (Asterisk) configuration rendered from each example tenant.

No Asterisk runs in this project: the files are compared with reviewed golden copies in
tests/operator/golden/<tenant>/ (regenerate with UPDATE_GOLDEN=1 after a deliberate change and
review the diff), and the call-flow rules are asserted on the rendering itself.
"""

import os
import re
from pathlib import Path

import pytest

from samu_operator.core import asterisk
from samu_operator.model import validate_tenant
from tests.operator.harness import example

GOLDEN = Path(__file__).parent / "golden"
EXAMPLES = ("samu-30", "samu-13", "samu-2a", "samu-974")


@pytest.mark.parametrize("name", EXAMPLES)
def test_rendering_matches_golden_files(name):
    tenant = validate_tenant(example(name))
    files = asterisk.render(tenant.name, tenant.spec)
    folder = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        folder.mkdir(parents=True, exist_ok=True)
        for file, text in files.items():
            (folder / file).write_text(text, encoding="utf-8")
    assert sorted(p.name for p in folder.iterdir()) == sorted(files)
    for file, text in files.items():
        assert text == (folder / file).read_text(encoding="utf-8"), f"{name}/{file} changed"


def _context(conf: str, name: str) -> str:
    match = re.search(rf"^\[{re.escape(name)}\]\n(.*?)(?=^\[|\Z)", conf, re.S | re.M)
    assert match, f"context [{name}] missing"
    return match.group(1)


@pytest.mark.parametrize("name", EXAMPLES)
def test_call_flow_rules(name):
    tenant = validate_tenant(example(name))
    spec = tenant.spec
    ext = asterisk.extensions_conf(tenant.name, spec)
    # Recording starts right after answering, before the IVR.
    entry = _context(ext, "from-edge")
    assert entry.index("Answer()") < entry.index("MixMonitor(") < entry.index("Goto(ivr,s,1)")
    # ... from the answer, not from the bridge (no 'b' option): greeting, digit, queue wait and
    # abandoned calls are recorded; one WAV per call named by its Call-ID, in the shipper's spool.
    mixmonitor = re.search(r"MixMonitor\((.*)\)$", entry, re.M).group(1)
    target, _, options = mixmonitor.rpartition(".wav")
    assert options in ("", ",") and "b" not in options
    assert target == f"{asterisk.RECORDINGS_DIR}/${{SAMU_CALLID}}"
    callid = re.search(r"Set\(SAMU_CALLID=(.*)\)$", entry, re.M).group(1)
    assert callid.startswith("${FILTER(") and "CHANNEL(pjsip,call-id)" in callid
    assert entry.index("Set(SAMU_CALLID=") < entry.index("MixMonitor(")
    # The vital-distress digit leads to the queue served first.
    ivr = _context(ext, "ivr")
    digit = spec.ivr.vital_distress_digit
    after_digit = ivr.split(f"exten => {digit},1,")[1].split("\nexten")[0]
    assert f"Goto(queue-{spec.vital_queue.name},s,1)" in after_digit
    # A 15 call is never hung up by the PBX.
    assert "Hangup" not in ext
    # Every queue waits at most its maxWaitSeconds (capped by the overflow delay), then overflows
    # to the partner or queues again.
    for queue in spec.queues:
        body = _context(ext, f"queue-{queue.name}")
        timeout = asterisk.queue_timeout(spec, queue)
        assert f"Queue({asterisk.queue_id(queue)},t,,,{timeout})" in body
        assert ("Goto(overflow,s,1)" if spec.overflow else f"Goto(queue-{queue.name},s,1)") in body
    if spec.overflow:
        # Débordement: a bare 15 for the partner's département, marked, through the edge;
        # the headers go on the outgoing channel (pre-dial handler), a marked call stays.
        partner_dep = spec.overflow.partner.removeprefix("samu-").upper()
        assert "b(overflow-headers^s^1)" in _context(ext, "overflow")
        headers = _context(ext, "overflow-headers")
        assert f"X-Samu-Departement)={partner_dep}" in headers
        assert "X-Samu-Overflow-From)=${TENANT}" in headers
        assert '"${OVERFLOW_FROM}" != ""]?queue-' in _context(ext, "overflow")
        # Capacity: beyond maxConcurrentCalls a call is answered busy (486) before Answer()
        # unless marked; the busy branch is the only thing before the answer.
        gate = entry[: entry.index("n(take),Answer()")]
        limit = spec.capacity.max_concurrent_calls
        assert f"${{GROUP_COUNT(calls)}} <= {limit}]?take)" in gate
        assert gate.index("GROUP()=calls") < gate.index("GROUP_COUNT") < gate.index("Busy()")
    else:
        assert "Busy()" not in ext, "without a partner a 15 call is never refused"
    # app_queue weights follow the priorities: the first-served queue weighs most.
    queues = asterisk.queues_conf(tenant.name, spec)
    weights = {
        q.name: int(
            re.search(r"^weight = (\d+)$", _context(queues, asterisk.queue_id(q)), re.M).group(1)
        )
        for q in spec.queues
    }
    assert max(weights, key=weights.get) == spec.vital_queue.name
    assert "weight" not in _context(queues, "general"), "app_queue's [general] holds settings only"
    # Asterisk's channel ceiling stays above the capacity the dialplan enforces (an answered
    # call is two channels, three while overflowing); the secret never reaches the config.
    maxcalls = re.search(r"^maxcalls = (\d+)$", asterisk.asterisk_conf(tenant.name, spec), re.M)
    assert maxcalls and int(maxcalls.group(1)) == 3 * spec.capacity.max_concurrent_calls
    assert "password" not in asterisk.pjsip_conf(tenant.name, spec)


def test_overflow_delay_caps_queue_wait():
    doc = example("samu-30")
    doc["spec"]["queues"] = [{"name": "vital-distress", "priority": 0, "maxWaitSeconds": 90}]
    doc["spec"]["overflow"] = {"partner": "samu-34", "afterSeconds": 20}
    tenant = validate_tenant(doc)
    assert asterisk.queue_timeout(tenant.spec, tenant.spec.queues[0]) == 20
    doc["spec"].pop("overflow")
    tenant = validate_tenant(doc)
    assert asterisk.queue_timeout(tenant.spec, tenant.spec.queues[0]) == 90
