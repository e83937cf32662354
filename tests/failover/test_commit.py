"""The failover part's commit (status epoch and active zone) against the emulated API server,
when its cached copy of the tenant is older than the server's: the watch echo of the
onboarding part's first status has not arrived yet, or another replica elected first."""

import asyncio
import copy

from samu_operator import kube
from samu_operator.core.fencing import StatusWrite
from samu_operator.failover.engine import FailoverEngine
from samu_operator.sim.kubelet import EmulatedCluster
from tests.operator.harness import TENANTS, apply, tenant, tenant_doc

ONBOARDING_STATUS = {
    "phase": "Pending",
    "message": "0/3 PBX ready (not ready: a, b, c)",
    "observedGeneration": 1,
    "conditions": [{"type": "Reconciled", "status": "True", "reason": "Applied"}],
}


def engine_for(url: str) -> FailoverEngine:
    client = kube.Kube(kube.make_api_client(url))
    return FailoverEngine(kube_client=lambda: client)


async def commit(engine: FailoverEngine, name: str, body: dict, zone: str) -> None:
    """The first election's commit, planned from ``body`` (blocking client: in a thread)."""
    await asyncio.to_thread(engine._run, name, body, [StatusWrite(zone, 1)], 0, None)


async def test_first_election_keeps_a_status_the_engine_has_not_seen_yet():
    async with EmulatedCluster() as cluster:
        body = await apply(cluster, tenant_doc("30"))
        name = body["metadata"]["name"]
        engine = engine_for(cluster.url)
        seen = copy.deepcopy(body)  # what the engine's watch delivered: no status yet
        engine.on_tenant("ADDED", seen)
        await cluster.emulator.merge(TENANTS, None, name, {"status": ONBOARDING_STATUS})

        try:
            await commit(engine, name, seen, "a")
        except kube.KubeError:
            # Refused rather than applied over a status it did not know: once the watch
            # brings the fresh tenant, deciding again from it commits without loss.
            engine.on_tenant("MODIFIED", copy.deepcopy(tenant(cluster, name)))
            await commit(engine, name, engine.tenants[name], "a")
        status = tenant(cluster, name)["status"]
        assert (status["epoch"], status["activeZone"]) == (1, "a")
        assert {k: status.get(k) for k in ONBOARDING_STATUS} == ONBOARDING_STATUS


async def test_two_replicas_with_the_same_view_cannot_both_elect_a_first_zone():
    async with EmulatedCluster() as cluster:
        body = await apply(cluster, tenant_doc("13"))
        name = body["metadata"]["name"]
        await cluster.emulator.merge(TENANTS, None, name, {"status": ONBOARDING_STATUS})
        seen = copy.deepcopy(tenant(cluster, name))  # both replicas read this tenant
        first, second = engine_for(cluster.url), engine_for(cluster.url)

        await commit(first, name, seen, "a")
        refused = None
        try:
            await commit(second, name, seen, "b")
        except kube.KubeError as exc:
            refused = exc
        assert refused is not None, "a second first election from the same view was applied"
        assert (tenant(cluster, name)["status"]["activeZone"]) == "a"
