"""Abandoned calls: from a queue_log in Asterisk's format to the call-back ledger, once.

The sample is what this dialplan and app_queue write: the IVR's ENTERQUEUE (Call-ID as url),
app_queue's ENTERQUEUE/EXITWITHTIMEOUT/ABANDON/CONNECT/COMPLETECALLER, and the hang-up
handler's ABANDON for a caller lost in the IVR.
"""

import asyncio
import json

import pytest

from samu_operator import kube
from samu_operator.core import abandoned, dropped
from samu_operator.edge.publish import DroppedPublisher
from samu_operator.pbx.abandoned import AbandonedCalls, run_once
from samu_operator.sim.kubelet import EmulatedCluster
from tests.operator.harness import wait_for

QUEUE_LOG = """\
1764820000|NONE|NONE|NONE|QUEUESTART|
1764820001|samu-30-1764820001.1|ivr|NONE|ENTERQUEUE|a84b4c76e667@pbx|+33612345678
1764820009|samu-30-1764820001.1|ivr|NONE|ABANDON|1|1|8
1764820010|samu-30-1764820010.2|ivr|NONE|ENTERQUEUE|b1@carrier|+33611111111
1764820016|samu-30-1764820010.2|q-general||ENTERQUEUE||+33611111111|1
1764820046|samu-30-1764820010.2|q-general|NONE|EXITWITHTIMEOUT|1|1|30
1764820076|samu-30-1764820010.2|q-general|NONE|EXITWITHTIMEOUT|1|1|30
1764820080|samu-30-1764820010.2|q-general||ENTERQUEUE||+33611111111|1
1764820090|samu-30-1764820010.2|q-general|NONE|ABANDON|1|1|10
1764820100|samu-30-1764820100.3|ivr|NONE|ENTERQUEUE|c2@carrier|+33622222222
1764820105|samu-30-1764820100.3|q-vital-distress||ENTERQUEUE||+33622222222|1
1764820107|samu-30-1764820100.3|q-vital-distress|PJSIP/edge/sip:samu-30-arm-01@edge|CONNECT|2|samu-30-1764820107.4|2
1764820300|samu-30-1764820100.3|q-vital-distress|PJSIP/edge/sip:samu-30-arm-01@edge|COMPLETECALLER|2|193|1
1764820400|samu-30-1764820400.5|q-general||ENTERQUEUE||+33633333333|1
1764820412|samu-30-1764820400.5|q-general|NONE|ABANDON|1|1|12
"""
TORN = "1764820500|samu-30-1764820500.6|ivr|NONE|ENTER"


def test_abandoned_calls_are_found_with_queue_wait_and_caller():
    records = abandoned.QueueLogReader("samu-30", "a").feed([*QUEUE_LOG.splitlines(), TORN])
    summary = [(r["callId"], r["caller"], r["queue"], r["waitSeconds"]) for r in records]
    assert summary == [
        ("a84b4c76e667@pbx", "+33612345678", "ivr", 8.0),  # hung up in the IVR
        ("b1@carrier", "+33611111111", "general", 80.0),  # re-queued twice, then hung up
        ("samu-30/a/samu-30-1764820400.5", "+33633333333", "general", 12.0),  # no IVR line
    ]  # the answered vital-distress call is not there
    assert all(r["reason"] == "abandoned" and r["tenant"] == "samu-30" for r in records)
    for record in records:
        dropped.record_key(record)  # each is a valid ledger record


def test_each_abandoned_call_reaches_the_ledger_once():
    lines = QUEUE_LOG.splitlines()
    first = abandoned.QueueLogReader("samu-30", "a").feed(lines)
    patch = dropped.data_patch({}, first)
    assert len(patch) == 3
    # Read again (a restart reads queue_log from the start): nothing new for the ledger.
    again = abandoned.QueueLogReader("samu-30", "a").feed(lines)
    assert dropped.data_patch(patch, again) == {}
    event = dropped.event("samu-30", first[0], None, "2026-12-04T00:00:00Z")
    assert event["reason"] == dropped.ABANDONED_EVENT_REASON
    assert "abandoned" in event["message"] and "+33612345678" in event["message"]


@pytest.mark.e2e
async def test_the_sidecar_publishes_abandoned_calls_once_across_a_restart(tmp_path, monkeypatch):
    queue_log, journal = tmp_path / "queue_log", tmp_path / "abandoned.jsonl"
    lines = QUEUE_LOG.splitlines(keepends=True)
    queue_log.write_text("".join(lines[:3]))  # the first call so far
    async with EmulatedCluster() as cluster:
        monkeypatch.setenv(kube.SERVER_ENV, cluster.url)
        kube.reset_shared()
        await cluster.emulator.put(
            "v1/namespaces",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "samu-30"}},
        )

        def ledger():
            found = cluster.emulator.read("v1/configmaps", "samu-30", dropped.CONFIGMAP_NAME)
            return [json.loads(v) for v in ((found or {}).get("data") or {}).values()]

        def once():
            calls = AbandonedCalls(queue_log, journal, "samu-30", "a")
            return run_once(calls, DroppedPublisher(journal))

        sidecar = AbandonedCalls(queue_log, journal, "samu-30", "a")
        publisher = DroppedPublisher(journal)
        assert await _in_thread(run_once, sidecar, publisher) == 1
        queue_log.write_text("".join(lines) + TORN)  # the rest, and a line being written
        assert await _in_thread(run_once, sidecar, publisher) == 2
        await wait_for(lambda: len(ledger()) == 3, timeout=10, what="3 abandoned calls")
        # A restarted sidecar reads queue_log from the start: nothing twice.
        assert await _in_thread(once) == 0
        assert len(ledger()) == 3 and len(journal.read_text().splitlines()) == 3
        events = cluster.emulator.objects_of("v1/events", "samu-30")
        assert len([e for e in events if e["reason"] == dropped.ABANDONED_EVENT_REASON]) == 3
    kube.reset_shared()


async def _in_thread(fn, *args):
    return await asyncio.to_thread(fn, *args)
