"""Zone loss under load: the active PBX's zone vanishes while 15 calls arrive at 50/s.

No call set-up may fail; calls placed after the loss reach the standby within 1 s; calls
that were already answered by the lost PBX are counted, and each one is recorded (caller,
tenant, time) where the operator collects it for an ARM to call back.
"""

import asyncio
import json
import time
import urllib.request
from pathlib import Path

import pytest

from samu_operator import kube
from samu_operator.edge.publish import DroppedPublisher
from samu_operator.sim.kubelet import EmulatedCluster
from tests.edge.conftest import Lab, tenant_doc
from tests.edge.harness import wait_for

pytestmark = pytest.mark.sip

RATE = 50
CALLS = 200  # 4 s of traffic
HOLD_MS = 1000


def test_zone_loss_at_50_cps_loses_no_call_setup(lab: Lab) -> None:
    active = lab.add_pbx("samu-30", "a")
    standby = lab.add_pbx("samu-30", "b")
    lab.start([tenant_doc("30", numbers=["+33466000015"])])

    caller = lab.caller(number="15", department="30").start(RATE, CALLS, hold_ms=HOLD_MS)
    time.sleep(1.5)
    lost_at = active.freeze()
    run = caller.wait(timeout=40)

    assert run.failed_setups == 0, f"{run.failed_setups} call set-ups failed ({run.log})"
    by_pbx = run.by_pbx()
    assert by_pbx.get("samu-30-a", 0) > 0 and by_pbx.get("samu-30-b", 0) > 0, by_pbx
    after = [c for c in run.calls if c.start > lost_at]
    assert after, "no call was placed after the zone loss"
    assert all(c.pbx == "samu-30-b" for c in after), "a call went to the lost zone"
    slowest = max(c.setup_seconds for c in after)
    assert slowest < 1.0, f"a new call waited {slowest:.3f}s for the standby"

    # Answered calls on the lost PBX cannot be saved by a proxy: each must be on record.
    dropped = run.dropped
    assert dropped, "calls in progress on the lost PBX should be seen as dropped"
    assert all(c.pbx == "samu-30-a" and c.start < lost_at for c in dropped)
    # every call has ended (the callers' BYEs): the edge holds none as answered any more, so a
    # later PBX death can never end or record a call that is over
    assert lab.sync.answered_calls() == []
    records = lab.sync.collect_dropped()
    assert sorted(r["callId"] for r in records) == sorted(c.call_id for c in dropped)
    assert {r["tenant"] for r in records} == {"samu-30"}
    assert all(r["caller"].startswith("0466") for r in records)
    assert all(lost_at - 5 < float(r["at"]) < time.time() + 1 for r in records)
    kept = [json.loads(line) for line in lab.edge.files.dropped.read_text().splitlines()]
    assert kept == [json.loads(json.dumps(r, sort_keys=True)) for r in records]
    # ...and published where the tenant's call-back reads them: every one, once
    published, events = asyncio.run(_publish(lab.edge.files.dropped))
    assert sorted(published) == sorted(c.call_id for c in dropped)
    assert events == len(dropped)

    with urllib.request.urlopen(lab.edge.metrics_url, timeout=5) as response:
        metrics = response.read().decode()
    assert f'samu_edge_dropped_calls_total{{samu="samu-30"}} {len(dropped)}' in metrics
    assert f'samu_edge_call_attempts_total{{samu="samu-30"}} {CALLS}' in metrics
    assert "samu_edge_setup_failures_total" not in metrics or (
        'samu_edge_setup_failures_total{samu="samu-30"} 0' in metrics
    )
    assert standby.proc is not None and standby.proc.poll() is None


def test_calls_up_on_a_dead_pbx_are_recorded_and_ended_so_callers_can_redial(lab: Lab) -> None:
    active = lab.add_pbx("samu-30", "a")
    lab.add_pbx("samu-30", "b")
    lab.start([tenant_doc("30", numbers=["+33466000015"])])
    lab.sync.confirm_seconds = 2.0

    caller = lab.caller(number="+33466000015").start(rate=10, calls=10, hold_ms=7000)
    time.sleep(1.5)  # the ten calls are up on the active PBX
    lost_at = active.freeze()
    records: list[dict] = []
    deadline = time.monotonic() + 15
    while len(records) < 10 and time.monotonic() < deadline:
        records += lab.sync.collect_dropped()
        time.sleep(0.3)
    run = caller.wait(timeout=30)

    assert run.failed_setups == 0
    assert {c.result for c in run.calls} == {"ended"}, "each caller got a BYE from the edge"
    assert sorted(r["callId"] for r in records) == sorted(c.call_id for c in run.calls)
    assert {(r["tenant"], r["method"], r["pbx"]) for r in records} == {
        ("samu-30", "pbx-down", active.uri)
    }
    assert all(float(r["at"]) >= lost_at + lab.sync.confirm_seconds - 0.5 for r in records)
    assert sorted(r["caller"] for r in records) == sorted(f"0466{i}" for i in range(1, 11))
    assert lab.sync.collect_dropped() == [], "each call is recorded once"
    # the edge's own BYE also ends each call in rtpengine: their recordings close now, not at
    # rtpengine's no-media timeout
    sessions = 'rtpengine_sessions{type="own"}'
    wait_for(lambda: lab.rtpengine.metric(sessions) == 0, 10, "rtpengine to close the calls")
    assert lab.rtpengine.metric("rtpengine_sessions_total") == 10


def test_probes_mark_a_silent_pbx_down_and_up_without_any_call(lab: Lab) -> None:
    zone_a = lab.add_pbx("samu-30", "a")
    lab.add_pbx("samu-30", "b")
    lab.start([tenant_doc("30", numbers=["+33466000015"])])
    wait_for(lambda: lab.edge.dispatcher_flags()[zone_a.uri] == "AP", 10, "a probed up")
    zone_a.freeze()
    wait_for(lambda: lab.edge.dispatcher_flags()[zone_a.uri].startswith("I"), 10, "a down")
    run = lab.caller(number="+33466000015").run(rate=20, calls=10)
    assert run.by_pbx() == {"samu-30-b": 10}
    assert max(c.setup_seconds for c in run.calls) < 0.3, "no call waits for the dead PBX"
    zone_a.thaw()
    wait_for(lambda: lab.edge.dispatcher_flags()[zone_a.uri] == "AP", 10, "a back up")
    run = lab.caller(number="+33466000015").run(rate=20, calls=10)
    assert run.by_pbx() == {"samu-30-a": 10}


async def _publish(journal: Path) -> tuple[list[str], int]:
    """Publish the edge's journal to an emulated API server: the callIds in samu-30's
    ``dropped-calls`` ConfigMap and the number of AnsweredCallDropped Events."""
    async with EmulatedCluster() as cluster:
        client = kube.Kube(kube.make_api_client(cluster.url))
        await asyncio.to_thread(DroppedPublisher(journal, client=lambda: client).publish)
        cm = cluster.emulator.read("v1/configmaps", "samu-30", "dropped-calls") or {}
        calls = [json.loads(v)["callId"] for v in (cm.get("data") or {}).values()]
        events = cluster.emulator.objects_of("v1/events", "samu-30")
        return calls, sum(e.get("reason") == "AnsweredCallDropped" for e in events)
