"""The project's emulator (kmock subclass): what Kopf and the operator rely on."""

import asyncio
import json

import aiohttp
import pytest

from samu_operator.kube import Kube, KubeError, Ref, make_api_client
from samu_operator.sim.kubelet import EmulatedCluster
from samu_operator.sim.selectors import parse_selector, selector_matches

CM = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "c", "namespace": "n", "labels": {"app": "x"}},
}


@pytest.fixture
async def emulated():
    async with EmulatedCluster(zones=("a",)) as cluster:
        yield cluster


async def call(fn, *args):
    """The sync client runs in a thread: the loop keeps serving the emulator."""
    return await asyncio.to_thread(fn, *args)


async def test_stamps_versions_uid_generation(emulated):
    kube = Kube(make_api_client(emulated.url))
    created = await call(kube.create, dict(CM, data={"a": "1"}))
    meta = created["metadata"]
    assert meta["resourceVersion"] and meta["uid"] and meta["generation"] == 1
    patched = await call(kube.merge, Ref.of(CM), {"data": {"a": "2"}})
    assert int(patched["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])
    assert patched["metadata"]["uid"] == meta["uid"]
    with pytest.raises(KubeError) as exc:
        await call(kube.create, dict(CM))
    assert exc.value.status == 409


async def test_failed_json_patch_test_is_422(emulated):
    await emulated.emulator.put("v1/configmaps", json.loads(json.dumps(CM)))
    url = f"{emulated.url}/api/v1/namespaces/n/configmaps/c"
    ops = [{"op": "test", "path": "/metadata/resourceVersion", "value": "nope"}]
    async with (
        aiohttp.ClientSession() as s,
        s.patch(url, json=ops, headers={"Content-Type": "application/json-patch+json"}) as r,
    ):
        assert r.status == 422


async def test_label_selector_and_namespace_paths(emulated):
    kube = Kube(make_api_client(emulated.url))
    await call(kube.create, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}})
    await call(kube.create, dict(CM))
    other = json.loads(json.dumps(CM))
    other["metadata"].update(name="d", labels={"app": "y"})
    await call(kube.create, other)
    names = [o["metadata"]["name"] for o in await call(kube.list, "v1", "ConfigMap", "n", "app=x")]
    assert names == ["c"]
    assert (await call(kube.get, Ref("v1", "Namespace", None, "n")))["metadata"]["name"] == "n"
    # Deleting a Namespace deletes what it holds.
    assert await call(kube.delete, Ref("v1", "Namespace", None, "n"))
    assert await call(kube.list, "v1", "ConfigMap", "n") == []


def test_selector_grammar():
    labels = {"metadata": {"labels": {"a": "1", "b": "2"}}}
    assert selector_matches(labels, parse_selector("a=1,b in (2,3),!c"))
    assert not selector_matches(labels, parse_selector("a!=1"))
    assert not selector_matches(labels, parse_selector("c"))
    assert selector_matches(labels, parse_selector("b notin (3)"))


async def test_kubelet_runs_statefulset_pods_in_their_zone(emulated):
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "pbx-a", "namespace": "n"},
        "spec": {
            "replicas": 1,
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/component": "pbx"}},
                "spec": {
                    "affinity": {
                        "nodeAffinity": {
                            "requiredDuringSchedulingIgnoredDuringExecution": {
                                "nodeSelectorTerms": [
                                    {
                                        "matchExpressions": [
                                            {
                                                "key": "topology.kubernetes.io/zone",
                                                "operator": "In",
                                                "values": ["a"],
                                            }
                                        ]
                                    }
                                ]
                            }
                        }
                    }
                },
            },
        },
    }
    emu = emulated.emulator
    await emu.put("apps/v1/statefulsets", sts)
    for _ in range(100):
        if emu.read("v1/pods", "n", "pbx-a-0"):
            break
        await asyncio.sleep(0.02)
    pod = emu.read("v1/pods", "n", "pbx-a-0")
    assert pod["spec"]["nodeName"] == "node-a-0"
    assert pod["status"]["conditions"][0]["status"] == "True"
    await emulated.kubelet.fail_zone("a")
    assert emu.read("v1/pods", "n", "pbx-a-0")["status"]["conditions"][0]["status"] == "False"
    node = emu.read("v1/nodes", None, "node-a-0")
    assert node["spec"]["taints"][0]["key"] == "node.kubernetes.io/unreachable"
    await emu.remove("apps/v1/statefulsets", "n", "pbx-a")
    for _ in range(100):
        if emu.read("v1/pods", "n", "pbx-a-0") is None:
            break
        await asyncio.sleep(0.02)
    assert emu.read("v1/pods", "n", "pbx-a-0") is None
