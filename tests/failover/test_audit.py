"""The double-active audit finds what it must find (so that its 0 in the e2e tests means 0)."""

from samu_operator.core import labels
from samu_operator.core.desired import ACTIVE_SERVICE
from samu_operator.sim.audit import double_actives
from samu_operator.sim.kubelet import EmulatedCluster

NS = "samu-30"


def pod(name: str, role: str, epoch: str) -> dict:
    tenant = {labels.TENANT: NS, labels.ROLE: role, labels.EPOCH: epoch}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "labels": tenant},
    }


def active_service(epoch: str) -> dict:
    """The tenant's active Service, selecting the active PBX of ``epoch`` only."""
    selector = {labels.TENANT: NS, labels.ROLE: "active", labels.EPOCH: epoch}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": ACTIVE_SERVICE, "namespace": NS},
        "spec": {"selector": selector},
    }


async def test_audit_sees_a_moment_with_two_selected_pods_even_if_it_was_fixed_later():
    async with EmulatedCluster() as cluster:
        em = cluster.emulator
        await em.put("v1/services", active_service("4"))
        await em.put("v1/pods", pod("pbx-a-0", "active", "4"))
        await em.put("v1/pods", pod("pbx-b-0", "active", "4"))  # the bad moment
        fenced = {"metadata": {"labels": {labels.ROLE: "fenced", labels.EPOCH: None}}}
        await em.merge("v1/pods", NS, "pbx-a-0", fenced)  # fixed right after
        found = double_actives(em)
        assert [(v.tenant, sorted(v.pods)) for v in found] == [(NS, ["pbx-a-0", "pbx-b-0"])]


async def test_audit_accepts_a_stale_active_the_service_does_not_select():
    async with EmulatedCluster() as cluster:
        em = cluster.emulator
        await em.put("v1/services", active_service("5"))
        await em.put("v1/pods", pod("pbx-a-0", "active", "4"))  # partitioned, old epoch
        await em.put("v1/pods", pod("pbx-b-0", "active", "5"))
        assert double_actives(em) == []
