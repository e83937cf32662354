"""The operator survives itself: a restart in the middle of a promotion, a second replica
taking over (Kopf peering, distinct priorities), and a zone loss under many tenants."""

import asyncio
import datetime

import pytest

from samu_operator.drill import OperatorInThread
from samu_operator.handlers import failover
from tests.failover.conftest import onboard, role, settled, status
from tests.operator.harness import OperatorThread, apply, tenant_doc, wait_for

pytestmark = pytest.mark.e2e
PEERING = "samu-operator"
PEERINGS = "kopf.dev/v1/clusterkopfpeerings"


async def test_operator_restart_in_the_middle_of_a_failover(cluster):
    first = OperatorThread(cluster.url)
    first.start()
    try:
        name = await onboard(cluster, "35")
        engine = failover.engines[-1]
        engine.halt_after_steps = 2  # fence + commit the epoch, then 'die' before activating
        await cluster.kubelet.set_pod_ready(name, "pbx-a-0", False)
        await wait_for(lambda: engine.halted, 20, "the operator to die mid-promotion")
        assert status(cluster, name)["epoch"] == 2
        assert status(cluster, name)["activeZone"] == "b"
        assert role(cluster, name, "b")[0] != "active"  # never activated
        assert role(cluster, name, "a")[0] == "fenced"
    finally:
        await first.stop()
    second = OperatorThread(cluster.url)
    second.start()
    try:
        # The new operator resumes: b is re-elected with a fresh epoch; nothing is lost.
        await wait_for(lambda: settled(cluster, name, "b", 3), 30, "promotion resumed")
        assert role(cluster, name, "a")[0] == "fenced"
    finally:
        await second.stop()


async def _peering(cluster) -> None:
    body = {"apiVersion": "kopf.dev/v1", "kind": "ClusterKopfPeering"}
    await cluster.emulator.put(PEERINGS, body | {"metadata": {"name": PEERING}})


def _record_promotions(engine) -> list[tuple[str, str | None]]:
    seen: list[tuple[str, str | None]] = []
    engine.on_promoted.append(lambda tenant, decision, _: seen.append((tenant, decision.to_zone)))
    return seen


def _engine_of(replica: str):
    return next((e for e in reversed(failover.engines) if e.name == replica), None)


async def _two_replicas(cluster, tag: str):
    await _peering(cluster)
    active = OperatorInThread(cluster.url, priority=200, peering=PEERING, replica=f"{tag}-1")
    active.start()
    first = await wait_for(lambda: _engine_of(f"{tag}-1"), 30, "first replica started")
    standby = OperatorInThread(cluster.url, priority=100, peering=PEERING, replica=f"{tag}-2")
    standby.start()
    second = await wait_for(lambda: _engine_of(f"{tag}-2"), 30, "second replica started")
    # Kopf starts its watchers alongside the peering watcher: a new low-priority replica may
    # act for an instant before it sees the other's record (the epoch compare-and-swap keeps
    # that safe). Let it see both records before the test starts counting who acts.
    await wait_for(
        lambda: (
            len((cluster.emulator.read(PEERINGS, None, PEERING) or {}).get("status") or {}) >= 2
        ),
        30,
        "both replicas in the peering",
    )
    await asyncio.sleep(1.0)
    return active, standby, first, second


async def test_second_replica_takes_over_when_the_active_one_stops(cluster):
    active, standby, active_engine, standby_engine = await _two_replicas(cluster, "stop")
    try:
        active_did = _record_promotions(active_engine)
        standby_did = _record_promotions(standby_engine)
        name = await onboard(cluster, "36")
        await wait_for(lambda: (name, "a") in active_did, 10, "the active replica elected")
        assert not standby_did, "the standby replica must pause"
        await active.stop()  # the active replica goes away (its peering record with it)
        await cluster.kubelet.set_pod_ready(name, "pbx-a-0", False)
        await wait_for(lambda: settled(cluster, name, "b", 2), 20, "failover by the standby")
        await wait_for(lambda: (name, "b") in standby_did, 10, "the standby replica acted")
    finally:
        await active.stop()
        await standby.stop()


async def test_second_replica_takes_over_when_the_active_ones_zone_dies(cluster):
    """A zone loss leaves no time for goodbyes: the dead replica's peering record stays
    until it expires (SAMU_OPERATOR_PEERING_LIFETIME, 3 s in tests)."""
    active, standby, active_engine, standby_engine = await _two_replicas(cluster, "crash")
    try:
        active_did = _record_promotions(active_engine)
        standby_did = _record_promotions(standby_engine)
        name = await onboard(cluster, "37")
        await wait_for(lambda: (name, "a") in active_did, 10, "the active replica elected")
        assert not standby_did, "the standby replica must pause"
        peering = cluster.emulator.read(PEERINGS, None, PEERING) or {}
        records = dict(peering.get("status") or {})
        await active.stop()
        # Put back the dead replica's record as it was just before it died.
        now = datetime.datetime.now(datetime.UTC).isoformat()
        alive = {k: v | {"lastseen": now} for k, v in records.items() if v.get("priority") == 200}
        assert alive, records
        await cluster.emulator.merge(PEERINGS, None, PEERING, {"status": alive})
        await cluster.kubelet.set_pod_ready(name, "pbx-a-0", False)
        await wait_for(lambda: settled(cluster, name, "b", 2), 30, "failover by the standby")
        await wait_for(lambda: (name, "b") in standby_did, 10, "the standby replica acted")
    finally:
        await active.stop()
        await standby.stop()


async def test_zone_loss_with_many_tenants(cluster, operator):
    names = []
    for i, dep in enumerate(["01", "02", "03", "04", "05", "06", "07", "08", "09"]):
        zones = ("a", "b", "c")[i % 3 :] + ("a", "b", "c")[: i % 3]
        doc = tenant_doc(dep, zones=zones)
        doc["spec"]["failover"]["minIntervalSeconds"] = 0
        await apply(cluster, doc)
        names.append((doc["metadata"]["name"], zones))
    for name, zones in names:
        await wait_for(lambda n=name, z=zones: settled(cluster, n, z[0], 1), 60, f"{name}")
    await cluster.kubelet.fail_zone("a", pods_unready=False)
    for name, zones in names:
        if zones[0] == "a":
            nxt = zones[1]
            await wait_for(lambda n=name, z=nxt: settled(cluster, n, z, 2), 30, f"{name} moved")
            assert role(cluster, name, "a")[0] == "fenced"
        else:
            assert settled(cluster, name, zones[0], 1), f"{name} must not move"
