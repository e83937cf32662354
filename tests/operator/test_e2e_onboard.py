"""Onboarding against the emulator: the real Kopf operator, the simulated kubelet."""

import pytest

from samu_operator.core import labels
from samu_operator.core.asterisk import CHANNELS_PER_CALL
from samu_operator.core.desired import desired_objects
from samu_operator.model import validate_tenant
from tests.operator.harness import (
    apply,
    obj,
    patch_tenant,
    phase,
    tenant,
    tenant_doc,
    wait_for,
)

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]

KEYS = {
    "Namespace": "v1/namespaces",
    "PersistentVolumeClaim": "v1/persistentvolumeclaims",
    "ResourceQuota": "v1/resourcequotas",
    "LimitRange": "v1/limitranges",
    "NetworkPolicy": "networking.k8s.io/v1/networkpolicies",
    "ServiceAccount": "v1/serviceaccounts",
    "Secret": "v1/secrets",
    "ConfigMap": "v1/configmaps",
    "StatefulSet": "apps/v1/statefulsets",
    "Service": "v1/services",
    "PodDisruptionBudget": "policy/v1/poddisruptionbudgets",
    "RoleBinding": "rbac.authorization.k8s.io/v1/rolebindings",
}


def expected(doc):
    """(key, namespace, name) of every object the tenant must have."""
    objs = desired_objects(validate_tenant(doc))
    return [(KEYS[o["kind"]], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objs]


def ready(cluster, name):
    return phase(cluster, name) == "Ready"


async def test_onboard_three_samu(shared_cluster, shared_operator):
    cluster = shared_cluster
    docs = [
        tenant_doc("30", partner="samu-13"),
        tenant_doc("13", partner="samu-30"),
        tenant_doc("974"),
    ]  # samu-30 waits for its partner samu-13 (a retry) if it comes first
    for doc in docs:
        await apply(cluster, doc)
    for doc in docs:
        name = doc["metadata"]["name"]
        await wait_for(lambda n=name: ready(cluster, n), timeout=40, what=f"{name} Ready")

    for doc in docs:
        name = doc["metadata"]["name"]
        body = tenant(cluster, name)
        uid = body["metadata"]["uid"]
        status = body["status"]
        assert status["observedGeneration"] == body["metadata"]["generation"]
        conditions = {c["type"]: c for c in status["conditions"]}
        assert conditions["Ready"]["status"] == "True"
        assert conditions["Reconciled"] == conditions["Reconciled"] | {
            "status": "True",
            "reason": "Applied",
        }
        assert [(p["zone"], p["ready"]) for p in status["pbx"]] == [
            ("a", True),
            ("b", True),
            ("c", True),
        ]
        roles = [p["role"] for p in status["pbx"]]  # the failover part may have elected one
        assert set(roles) <= {"active", "standby"} and roles.count("active") <= 1
        assert [p["pod"] for p in status["pbx"]] == ["pbx-a-0", "pbx-b-0", "pbx-c-0"]
        for key, ns, child in expected(doc):
            live = obj(cluster, key, ns, child)
            assert live is not None, (key, ns, child)
            assert live["metadata"]["labels"][labels.TENANT] == name
            owners = live["metadata"].get("ownerReferences", [])
            if key in ("v1/namespaces", "v1/persistentvolumeclaims"):
                assert owners == [], (
                    "recordings and their Namespace must never be garbage-collected"
                )
            else:
                assert [(o["kind"], o["name"], o["uid"]) for o in owners] == [
                    ("SamuTenant", name, uid)
                ]
        secret = obj(cluster, "v1/secrets", name, "sip-credentials")
        assert "password = " in secret["stringData"]["pjsip-auth.conf"]

    # Each tenant's PBX StatefulSets are pinned to their zone; pods ran there.
    sts = obj(cluster, "apps/v1/statefulsets", "samu-974", "pbx-b")
    terms = sts["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["nodeSelectorTerms"]
    assert terms[0]["matchExpressions"][0]["values"] == ["b"]
    assert obj(cluster, "v1/pods", "samu-974", "pbx-b-0")["spec"]["nodeName"] == "node-b-0"

    # The two tenants' secrets differ: generated per tenant.
    s30 = obj(cluster, "v1/secrets", "samu-30", "sip-credentials")["stringData"]
    s13 = obj(cluster, "v1/secrets", "samu-13", "sip-credentials")["stringData"]
    assert s30 != s13


async def test_update_capacity_and_queue(shared_cluster, shared_operator):
    cluster = shared_cluster
    doc = tenant_doc("31")
    await apply(cluster, doc)
    await wait_for(lambda: ready(cluster, "samu-31"), timeout=30, what="Ready")
    secret_before = obj(cluster, "v1/secrets", "samu-31", "sip-credentials")
    quota_before = obj(cluster, "v1/resourcequotas", "samu-31", "tenant-quota")["spec"]["hard"]

    queues = [*doc["spec"]["queues"], {"name": "pediatrie", "priority": 2, "maxWaitSeconds": 20}]
    await patch_tenant(
        cluster,
        "samu-31",
        {"spec": {"capacity": {"agents": 80, "maxConcurrentCalls": 240}, "queues": queues}},
    )

    def updated():
        body = tenant(cluster, "samu-31")
        cm = obj(cluster, "v1/configmaps", "samu-31", "pbx-config")
        return (
            body["status"].get("observedGeneration") == body["metadata"]["generation"]
            and "[q-pediatrie]" in cm["data"]["queues.conf"]
        )

    await wait_for(updated, timeout=30, what="update applied")
    cm = obj(cluster, "v1/configmaps", "samu-31", "pbx-config")
    # the new capacity reaches Asterisk (its channel ceiling: CHANNELS_PER_CALL per call)
    assert f"maxcalls = {CHANNELS_PER_CALL * 240}" in cm["data"]["asterisk.conf"]
    assert "exten => s,1,Set(__SAMU_QUEUE=pediatrie)" in cm["data"]["extensions.conf"]
    quota = obj(cluster, "v1/resourcequotas", "samu-31", "tenant-quota")["spec"]["hard"]
    assert quota["requests.storage"] != quota_before["requests.storage"]  # sized from calls
    secret = obj(cluster, "v1/secrets", "samu-31", "sip-credentials")
    assert secret["metadata"]["uid"] == secret_before["metadata"]["uid"]
    assert secret["stringData"] == secret_before["stringData"], "the SIP secret is never rewritten"
    await wait_for(lambda: ready(cluster, "samu-31"), timeout=30, what="Ready after update")


async def test_zone_removed_is_pruned_but_recordings_stay(shared_cluster, shared_operator):
    cluster = shared_cluster
    await apply(cluster, tenant_doc("32"))
    await wait_for(lambda: ready(cluster, "samu-32"), timeout=30, what="Ready")
    await patch_tenant(
        cluster,
        "samu-32",
        {"spec": {"pbx": {"zones": ["a", "b"]}, "failover": {"preferredZones": ["a", "b"]}}},
    )
    await wait_for(
        lambda: obj(cluster, "apps/v1/statefulsets", "samu-32", "pbx-c") is None,
        timeout=30,
        what="zone c's StatefulSet pruned",
    )
    await wait_for(
        lambda: obj(cluster, "v1/services", "samu-32", "pbx-c") is None,
        timeout=30,
        what="zone c's Service pruned",
    )
    assert obj(cluster, "v1/persistentvolumeclaims", "samu-32", "recordings-c") is not None
    await wait_for(
        lambda: [p["zone"] for p in tenant(cluster, "samu-32")["status"]["pbx"]] == ["a", "b"],
        timeout=30,
        what="status lists zones a and b",
    )
