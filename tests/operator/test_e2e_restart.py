"""An operator restart resumes every tenant without duplicating or losing anything."""

import pytest

from samu_operator.core import labels
from samu_operator.core.asterisk import CHANNELS_PER_CALL
from tests.operator.harness import (
    TENANT_OBJECT_KEYS,
    apply,
    obj,
    patch_tenant,
    phase,
    tenant,
    tenant_doc,
    wait_for,
)

pytestmark = pytest.mark.e2e


def inventory(cluster, name):
    """(kind, namespace, name) -> uid of every object of the tenant."""
    found = {}
    for key in TENANT_OBJECT_KEYS:
        for o in cluster.emulator.objects_of(key):
            meta = o["metadata"]
            if meta.get("labels", {}).get(labels.TENANT) == name:
                found[(o["kind"], meta.get("namespace"), meta["name"])] = meta["uid"]
    return found


def creates_in(cluster, namespace, since):
    return [
        r
        for r in cluster.emulator.requests_log[since:]
        if r.action is not None and r.action.value.lower() == "create" and r.namespace == namespace
    ]


async def test_restart_resumes_without_duplicates(cluster, operator):
    for doc in (tenant_doc("50"), tenant_doc("51")):
        await apply(cluster, doc)
    for name in ("samu-50", "samu-51"):
        await wait_for(
            lambda n=name: phase(cluster, n) == "Ready", timeout=30, what=f"{name} Ready"
        )
    before = {name: inventory(cluster, name) for name in ("samu-50", "samu-51")}
    secret = obj(cluster, "v1/secrets", "samu-50", "sip-credentials")["stringData"]

    await operator.stop()
    # While the operator is down: a child deleted by hand, a spec change, a new tenant.
    await cluster.emulator.remove("v1/configmaps", "samu-50", "pbx-config")
    await patch_tenant(
        cluster, "samu-51", {"spec": {"capacity": {"agents": 50, "maxConcurrentCalls": 150}}}
    )
    await apply(cluster, tenant_doc("52"))
    mark = len(cluster.emulator.requests_log)
    operator.start()

    await wait_for(
        lambda: obj(cluster, "v1/configmaps", "samu-50", "pbx-config"),
        timeout=30,
        what="ConfigMap back",
    )
    await wait_for(
        lambda: phase(cluster, "samu-52") == "Ready", timeout=30, what="samu-52 onboarded"
    )

    def updated():
        body = tenant(cluster, "samu-51")
        return body["status"].get("observedGeneration") == body["metadata"]["generation"]

    await wait_for(updated, timeout=30, what="samu-51 update applied")
    cm = obj(cluster, "v1/configmaps", "samu-51", "pbx-config")
    # the new capacity reaches Asterisk (its channel ceiling: CHANNELS_PER_CALL per call)
    assert f"maxcalls = {CHANNELS_PER_CALL * 150}" in cm["data"]["asterisk.conf"]

    after = inventory(cluster, "samu-50")
    assert after.keys() == before["samu-50"].keys(), "nothing lost, nothing extra"
    recreated = {k for k in after if after[k] != before["samu-50"][k]}
    assert recreated == {("ConfigMap", "samu-50", "pbx-config")}
    assert inventory(cluster, "samu-51") == before["samu-51"], "updated in place, not re-created"
    assert obj(cluster, "v1/secrets", "samu-50", "sip-credentials")["stringData"] == secret
    assert [r.data["metadata"]["name"] for r in creates_in(cluster, "samu-50", mark)] == [
        "pbx-config"
    ]
    assert creates_in(cluster, "samu-51", mark) == []
