"""Two operator replicas under Kopf peering (priorities 200 and 100) for the HA e2e tests: one
place for the set-up both take-over tests share (start the pair, onboard a tenant, see that
only the active replica elected it) and for the take-over both expect."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from samu_operator.failover.engine import FailoverEngine
from samu_operator.handlers import failover
from samu_operator.sim.drill import OperatorInThread
from samu_operator.sim.kubelet import EmulatedCluster
from tests.failover.conftest import onboard, settled
from tests.operator.harness import wait_for

PEERING = "samu-operator"
PEERINGS = "kopf.dev/v1/clusterkopfpeerings"

#: (tenant, zone promoted to) as one replica's failover engine promoted them.
Promotions = list[tuple[str, str | None]]


@dataclass
class Replicas:
    """The two replicas, the tenant onboarded under them and what each promoted so far."""

    active: OperatorInThread
    standby: OperatorInThread
    tenant: str
    active_did: Promotions
    standby_did: Promotions


def _record_promotions(engine: FailoverEngine) -> Promotions:
    seen: Promotions = []
    engine.on_promoted.append(lambda tenant, decision, _: seen.append((tenant, decision.to_zone)))
    return seen


def _engine_of(replica: str) -> FailoverEngine | None:
    return next((e for e in reversed(failover.engines) if e.name == replica), None)


def peering_records(cluster: EmulatedCluster) -> dict:
    """The replicas' records in the shared ClusterKopfPeering (its status), as the API has them."""
    return dict((cluster.emulator.read(PEERINGS, None, PEERING) or {}).get("status") or {})


@contextlib.asynccontextmanager
async def two_replicas(
    cluster: EmulatedCluster, tag: str, department: str
) -> AsyncIterator[Replicas]:
    """Start the pair (replicas ``<tag>-1`` active, ``<tag>-2`` standby), onboard SAMU
    ``department``, check the active replica elected it in zone a and the standby paused;
    both replicas are stopped on the way out."""
    body = {"apiVersion": "kopf.dev/v1", "kind": "ClusterKopfPeering"}
    await cluster.emulator.put(PEERINGS, body | {"metadata": {"name": PEERING}})
    active = OperatorInThread(cluster.url, priority=200, peering=PEERING, replica=f"{tag}-1")
    standby = OperatorInThread(cluster.url, priority=100, peering=PEERING, replica=f"{tag}-2")
    try:
        active.start()
        active_engine = await wait_for(lambda: _engine_of(f"{tag}-1"), 30, "first replica started")
        standby.start()
        standby_engine = await wait_for(
            lambda: _engine_of(f"{tag}-2"), 30, "second replica started"
        )
        # Kopf starts its watchers alongside the peering watcher: a new low-priority replica
        # may act for an instant before it sees the other's record (the epoch compare-and-swap
        # keeps that safe). Let it see both records before the test starts counting who acts.
        await wait_for(
            lambda: len(peering_records(cluster)) >= 2, 30, "both replicas in the peering"
        )
        await asyncio.sleep(1.0)
        active_did = _record_promotions(active_engine)
        standby_did = _record_promotions(standby_engine)
        name = await onboard(cluster, department)
        await wait_for(lambda: (name, "a") in active_did, 10, "the active replica elected")
        assert not standby_did, "the standby replica must pause"
        yield Replicas(active, standby, name, active_did, standby_did)
    finally:
        await active.stop()
        await standby.stop()


async def standby_takes_over(cluster: EmulatedCluster, pair: Replicas, timeout: float) -> None:
    """Zone a's PBX goes unready: the standby replica must move the tenant to b (epoch 2)."""
    name = pair.tenant
    await cluster.kubelet.set_pod_ready(name, "pbx-a-0", False)
    await wait_for(lambda: settled(cluster, name, "b", 2), timeout, "failover by the standby")
    await wait_for(lambda: (name, "b") in pair.standby_did, 10, "the standby replica acted")
