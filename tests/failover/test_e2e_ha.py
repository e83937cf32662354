"""The operator survives itself: a restart in the middle of a promotion, a second replica
taking over (Kopf peering, distinct priorities), and a zone loss under many tenants."""

import datetime

import pytest

from samu_operator.handlers import failover
from tests.failover.conftest import onboard, role, settled, status
from tests.failover.replicas import (
    PEERING,
    PEERINGS,
    peering_records,
    standby_takes_over,
    two_replicas,
)
from tests.operator.harness import OperatorThread, apply, tenant_doc, wait_for

pytestmark = pytest.mark.e2e


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


async def test_second_replica_takes_over_when_the_active_one_stops(cluster):
    async with two_replicas(cluster, "stop", "36") as pair:
        await pair.active.stop()  # the active replica goes away (its peering record with it)
        await standby_takes_over(cluster, pair, 20)


async def test_second_replica_takes_over_when_the_active_ones_zone_dies(cluster):
    """A zone loss leaves no time for goodbyes: the dead replica's peering record stays
    until it expires (SAMU_OPERATOR_PEERING_LIFETIME, 3 s in tests)."""
    async with two_replicas(cluster, "crash", "37") as pair:
        records = peering_records(cluster)
        await pair.active.stop()
        # Put back the dead replica's record as it was just before it died.
        now = datetime.datetime.now(datetime.UTC).isoformat()
        alive = {k: v | {"lastseen": now} for k, v in records.items() if v.get("priority") == 200}
        assert alive, records
        await cluster.emulator.merge(PEERINGS, None, PEERING, {"status": alive})
        await standby_takes_over(cluster, pair, 30)


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
