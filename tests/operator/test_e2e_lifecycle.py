"""Drift correction, impossible specs and deletion, against the emulator."""

import pytest

from samu_operator.core import labels
from tests.operator.harness import (
    TENANT_OBJECT_KEYS,
    TENANTS,
    apply,
    kubectl_delete,
    obj,
    phase,
    tenant,
    tenant_doc,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


def events_for(cluster, name):
    return [
        e
        for e in cluster.emulator.objects_of("v1/events")
        if e.get("involvedObject", {}).get("name") == name
    ]


def children_of(cluster, name):
    """Every live object labelled with the tenant, by (kind, name)."""
    found = set()
    for key in TENANT_OBJECT_KEYS:
        for o in cluster.emulator.objects_of(key):
            if o["metadata"].get("labels", {}).get(labels.TENANT) == name:
                found.add((o["kind"], o["metadata"]["name"]))
    return found


async def test_drift_is_corrected(shared_cluster, shared_operator):
    cluster, emu = shared_cluster, shared_cluster.emulator
    await apply(cluster, tenant_doc("40"))
    await wait_for(lambda: phase(cluster, "samu-40") == "Ready", timeout=30, what="Ready")
    config = obj(cluster, "v1/configmaps", "samu-40", "pbx-config")["data"]

    # Edited by hand: a dialplan line changed and a key added; replicas scaled to 0.
    await emu.merge(
        "v1/configmaps",
        "samu-40",
        "pbx-config",
        {"data": {"extensions.conf": "; hacked\n", "extra.conf": "x"}},
    )
    await emu.merge("apps/v1/statefulsets", "samu-40", "pbx-b", {"spec": {"replicas": 0}})
    # Deleted by hand: a per-zone Service and a NetworkPolicy.
    await emu.remove("v1/services", "samu-40", "pbx-a")
    await emu.remove("networking.k8s.io/v1/networkpolicies", "samu-40", "default-deny")

    await wait_for(
        lambda: obj(cluster, "v1/configmaps", "samu-40", "pbx-config")["data"] == config,
        timeout=20,
        what="ConfigMap restored",
    )
    await wait_for(
        lambda: obj(cluster, "apps/v1/statefulsets", "samu-40", "pbx-b")["spec"]["replicas"] == 1,
        timeout=20,
        what="replicas restored",
    )
    await wait_for(
        lambda: obj(cluster, "v1/services", "samu-40", "pbx-a"), timeout=20, what="Service back"
    )
    await wait_for(
        lambda: obj(cluster, "networking.k8s.io/v1/networkpolicies", "samu-40", "default-deny"),
        timeout=20,
        what="default-deny back",
    )
    await wait_for(
        lambda: any(e["reason"] == "DriftCorrected" for e in events_for(cluster, "samu-40")),
        timeout=20,
        what="a DriftCorrected Event",
    )


async def test_unknown_zone_is_reported_and_nothing_applied(shared_cluster, shared_operator):
    cluster = shared_cluster
    await apply(cluster, tenant_doc("41", zones=("a", "z")))
    await wait_for(lambda: phase(cluster, "samu-41") == "Failed", timeout=20, what="Failed")
    status = tenant(cluster, "samu-41")["status"]
    ready = {c["type"]: c for c in status["conditions"]}["Reconciled"]
    assert ready["status"] == "False" and ready["reason"] == "ZoneNotFound"
    assert "spec.pbx.zones" in status["message"] and "z" in status["message"]
    await wait_for(
        lambda: any(
            e["reason"] == "ZoneNotFound" and e["type"] == "Warning"
            for e in events_for(cluster, "samu-41")
        ),
        timeout=20,
        what="a Warning Event",
    )
    assert children_of(cluster, "samu-41") == set(), "nothing half-applied"


async def test_missing_partner_is_reported_then_resolved(shared_cluster, shared_operator):
    cluster = shared_cluster
    await apply(cluster, tenant_doc("42", partner="samu-43"))
    await wait_for(lambda: phase(cluster, "samu-42") == "Failed", timeout=20, what="Failed")
    conditions = {c["type"]: c for c in tenant(cluster, "samu-42")["status"]["conditions"]}
    assert conditions["Reconciled"]["reason"] == "PartnerNotFound"
    assert "samu-43" in conditions["Reconciled"]["message"]
    assert children_of(cluster, "samu-42") == set()
    # Onboarding the partner makes the first one work (retried, no manual step).
    await apply(cluster, tenant_doc("43"))
    await wait_for(lambda: phase(cluster, "samu-42") == "Ready", timeout=30, what="samu-42 Ready")


async def test_delete_keeps_recordings(shared_cluster, shared_operator):
    cluster = shared_cluster
    await apply(cluster, tenant_doc("44"))
    await wait_for(lambda: phase(cluster, "samu-44") == "Ready", timeout=30, what="Ready")
    await kubectl_delete(cluster, "samu-44")
    await wait_for(lambda: tenant(cluster, "samu-44") is None, timeout=30, what="tenant gone")

    kept = children_of(cluster, "samu-44")
    assert kept == {
        ("Namespace", "samu-44"),
        ("PersistentVolumeClaim", "recordings-a"),
        ("PersistentVolumeClaim", "recordings-b"),
        ("PersistentVolumeClaim", "recordings-c"),
    }
    pvc = obj(cluster, "v1/persistentvolumeclaims", "samu-44", "recordings-a")
    assert "deleteWithTenant=false" in pvc["metadata"]["annotations"][labels.RETAINED]
    events = [e for e in events_for(cluster, "samu-44") if e["reason"] == "RecordingsRetained"]
    assert events and "recordings-a" in events[0]["message"]
    # The tenant's last status said where the recordings are (the history keeps it).
    history = cluster.emulator.objects[TENANTS, None, "samu-44"].history
    messages = [v["status"].get("message", "") for v in history if v is not None and "status" in v]
    assert any("recordings kept in Namespace samu-44" in m for m in messages)


async def test_delete_with_recordings_when_asked(shared_cluster, shared_operator):
    cluster = shared_cluster
    doc = tenant_doc("45")
    doc["spec"]["recording"]["deleteWithTenant"] = True
    await apply(cluster, doc)
    await wait_for(lambda: phase(cluster, "samu-45") == "Ready", timeout=30, what="Ready")
    await kubectl_delete(cluster, "samu-45")
    await wait_for(lambda: tenant(cluster, "samu-45") is None, timeout=30, what="tenant gone")
    await wait_for(lambda: children_of(cluster, "samu-45") == set(), timeout=20, what="all gone")
    assert obj(cluster, "v1/pods", "samu-45", "pbx-a-0") is None


async def test_operator_requests_are_recorded_for_rbac(shared_cluster, shared_operator):
    """The request log (the chart derives its RBAC from it) holds the operator's calls only:
    plain verbs, status through its subresource, children in their Namespaces."""
    calls = shared_cluster.emulator.api_calls()
    verbs = {verb for verb, _, _ in calls}
    assert verbs <= {"get", "list", "watch", "create", "patch", "delete"}
    assert ("patch", "samu-platform.io/v1alpha1/samutenants/status", "cluster") in calls
    assert ("create", "apps/v1/statefulsets", "namespaced") in calls
    assert ("watch", "samu-platform.io/v1alpha1/samutenants", "cluster") in calls
    # The tests' own writes (kubectl's and the kubelet's part) are not in it.
    assert ("create", "samu-platform.io/v1alpha1/samutenants", "cluster") not in calls
    assert ("create", "v1/pods", "namespaced") not in calls
