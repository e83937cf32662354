"""The operator's API client under each request fault the emulator injects (``sim.faults``):
every request ends in the answer it would have had without the fault, and a write whose
answer was lost is applied once."""

import asyncio
import time

import pytest

from samu_operator import kube
from samu_operator.kube import apply as kube_apply
from samu_operator.sim.faults import Faults, FaultsError
from samu_operator.sim.kubelet import EmulatedCluster

CONFIGMAPS = "v1/configmaps"


def configmaps(n: int) -> list[dict]:
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": f"cm-{i}", "namespace": "samu-30", "labels": {"i": str(i)}},
            "data": {"value": str(i)},
        }
        for i in range(n)
    ]


@pytest.fixture
async def cluster():
    async with EmulatedCluster(zones=("a",)) as emulated:
        yield emulated


def client(cluster: EmulatedCluster) -> kube.Kube:
    return kube.Kube(kube.make_api_client(cluster.url))


async def apply_under(cluster: EmulatedCluster, faults: Faults, objects: list[dict]):
    cluster.emulator.faults = faults
    try:
        return await asyncio.to_thread(kube_apply.apply_all, client(cluster), objects, fresh=True)
    finally:
        cluster.emulator.faults = Faults()


def stored(cluster: EmulatedCluster, objects: list[dict]) -> list[dict]:
    return [cluster.emulator.read(CONFIGMAPS, "samu-30", o["metadata"]["name"]) for o in objects]


@pytest.mark.parametrize("kind", ["5xx", "429", "409", "reset"])
async def test_a_tenant_applied_under_a_fault_kind_is_applied_whole_and_once(cluster, kind):
    objects = configmaps(12)
    faults = Faults(rate=0.3, kinds=frozenset({kind}), seed=7)
    faults.retry_after = 0  # Retry-After: 0 (the wait itself is checked below)
    applied = await apply_under(cluster, faults, objects)
    assert faults.counts[kind] >= 2, f"too few {kind} faults drawn to test anything"
    assert len(applied.created) + applied.unchanged == len(objects)
    assert [(s or {}).get("data") for s in stored(cluster, objects)] == [o["data"] for o in objects]
    creates = [r for r in cluster.emulator.requests_log if r.method.value == "POST"]
    # one create per object, plus one retry per fault that lost or refused it
    assert len(creates) <= len(objects) + faults.counts[kind]


async def test_too_many_requests_is_retried_after_the_servers_retry_after(cluster):
    faults = Faults(rate=1.0, kinds=frozenset({"429"}), seed=1)
    cluster.emulator.faults = faults
    started = time.monotonic()
    task = asyncio.create_task(asyncio.to_thread(client(cluster).create, configmaps(1)[0]))
    while not faults.counts["429"]:
        await asyncio.sleep(0.01)
    cluster.emulator.faults = Faults()  # the next try is answered
    await task
    assert time.monotonic() - started >= faults.retry_after
    assert stored(cluster, configmaps(1))[0] is not None


async def test_an_answer_later_than_the_read_timeout_is_asked_again(cluster, monkeypatch):
    await cluster.emulator.put(CONFIGMAPS, configmaps(1)[0])
    monkeypatch.setattr(kube, "REQUEST_TIMEOUT", (2.0, 0.3))
    faults = Faults(rate=0.5, kinds=frozenset({"latency"}), seed=3, latency=(0.6, 0.6))
    cluster.emulator.faults = faults
    api = client(cluster)
    ref = kube.Ref.of(configmaps(1)[0])
    answers = [await asyncio.to_thread(api.get, ref) for _ in range(8)]
    assert faults.counts["latency"] >= 2
    assert all(a is not None and a["data"] == {"value": "0"} for a in answers)


def test_a_fault_specification_names_what_is_wrong():
    assert Faults.parse("0.1:5xx,reset").kinds == frozenset({"5xx", "reset"})
    with pytest.raises(FaultsError, match=r"fault rate 'lots': not a number"):
        Faults.parse("lots")
    with pytest.raises(FaultsError, match=r"fault rate 2\.0: give a share of requests from 0 to 1"):
        Faults.parse("2")
    with pytest.raises(FaultsError, match=r"fault kinds 503: unknown; choose among 5xx"):
        Faults.parse("0.1:503")
