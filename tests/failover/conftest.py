"""Fixtures of the failover e2e tests: the onboarding harness, plus helpers to read the
fencing labels, the active Service and the double-active audit of the emulator's history."""

import os
from collections.abc import AsyncIterator
from typing import Any

import pytest

os.environ.setdefault("SAMU_OPERATOR_RECHECK_SECONDS", "2")
os.environ.setdefault("SAMU_OPERATOR_METRICS_PORT", "0")
os.environ.setdefault("SAMU_FAILOVER_RECHECK_SECONDS", "1")
os.environ.setdefault("SAMU_OPERATOR_PEERING_LIFETIME", "3")
os.environ.setdefault("SAMU_OPERATOR_CATCH_UP_SECONDS", "4")

from samu_operator.core import labels
from samu_operator.core.desired import ACTIVE_SERVICE
from samu_operator.sim import kmock_speedup
from samu_operator.sim.audit import double_actives
from samu_operator.sim.kubelet import EmulatedCluster
from tests.operator.harness import OperatorThread, apply, tenant, tenant_doc, wait_for

kmock_speedup.install()  # the request log grows with every test request: keep matching O(1)


@pytest.fixture
async def cluster() -> AsyncIterator[EmulatedCluster]:
    async with EmulatedCluster() as emulated:
        yield emulated
        assert double_actives(emulated.emulator) == [], "two pods were selected as active"


@pytest.fixture
async def operator(cluster: EmulatedCluster) -> AsyncIterator[OperatorThread]:
    op = OperatorThread(cluster.url)
    op.start()
    try:
        yield op
    finally:
        await op.stop()


def pods(cluster: EmulatedCluster, name: str) -> dict[str, dict[str, Any]]:
    """zone -> the tenant's PBX pod there."""
    return {
        p["metadata"]["labels"][labels.ZONE]: p
        for p in cluster.emulator.objects_of("v1/pods", name)
        if labels.ZONE in p["metadata"].get("labels", {})
    }


def role(cluster: EmulatedCluster, name: str, zone: str) -> tuple[str | None, str | None]:
    pod = pods(cluster, name).get(zone)
    found = (pod or {}).get("metadata", {}).get("labels", {})
    return found.get(labels.ROLE), found.get(labels.EPOCH)


def status(cluster: EmulatedCluster, name: str) -> dict[str, Any]:
    return (tenant(cluster, name) or {}).get("status") or {}


def service_epoch(cluster: EmulatedCluster, name: str) -> str | None:
    svc = cluster.emulator.read("v1/services", name, ACTIVE_SERVICE) or {}
    return (svc.get("spec") or {}).get("selector", {}).get(labels.EPOCH)


def settled(cluster: EmulatedCluster, name: str, zone: str, epoch: int) -> bool:
    """Status, the pod's labels and the Service all agree that ``zone`` is active at ``epoch``."""
    st = status(cluster, name)
    return (
        st.get("activeZone") == zone
        and st.get("epoch") == epoch
        and role(cluster, name, zone) == ("active", str(epoch))
        and service_epoch(cluster, name) == str(epoch)
    )


def operator_sees_ready(name: str, zone: str) -> bool | None:
    """Readiness of a tenant's PBX as the newest operator's failover cache has it.

    Watches of different kinds are not ordered with one another: a test that breaks a pod
    and then a node waits for the first to be seen before making the second.
    """
    from samu_operator.handlers import failover

    world = failover.engines[-1].world(name)
    return next((p.ready for p in world.pods if p.zone == zone), None)


def events(cluster: EmulatedCluster, reason: str) -> list[dict[str, Any]]:
    found = cluster.emulator.objects_of("v1/events") + cluster.emulator.objects_of(
        "events.k8s.io/v1/events"
    )
    return [e for e in found if e.get("reason") == reason]


async def onboard(
    cluster: EmulatedCluster,
    department: str,
    *,
    zones: tuple[str, ...] = ("a", "b", "c"),
    min_interval: int = 0,
    timeout: float = 30,
) -> str:
    """Create a tenant and wait for its initial election in its first zone."""
    doc = tenant_doc(department, zones=zones)
    doc["spec"]["failover"]["minIntervalSeconds"] = min_interval
    await apply(cluster, doc)
    name = doc["metadata"]["name"]
    await wait_for(lambda: settled(cluster, name, zones[0], 1), timeout, f"{name} elected")
    return name
