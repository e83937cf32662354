"""Test harness: the real Kopf operator (in a thread) against the emulated cluster.

API (used by tests/operator and tests/failover):

* fixture ``cluster`` -> ``EmulatedCluster`` (``.emulator``, ``.kubelet``, ``.url``): kmock's
  emulator (project subclass) on 127.0.0.1 plus the simulated kubelet, zones a, b, c.
* fixture ``operator`` -> ``OperatorThread`` already running against ``cluster``;
  ``await op.stop()`` / ``op.start()`` to restart it (tests of resume).
* ``await apply(cluster, doc)``: create a SamuTenant as kubectl would (in-process: not in the
  operator's request log); ``await patch_tenant(cluster, name, patch)``;
  ``await kubectl_delete(cluster, name)``.
* ``await wait_for(fn, timeout=...)``: poll ``fn()`` (sync) until truthy without blocking the
  loop (the loop serves the emulator); returns its value.
* ``tenant(cluster, name)``, ``obj(cluster, "apps/v1/statefulsets", ns, name)``: current state.
* ``cluster.emulator.api_calls()``: what the operator asked for (verb, resource, scope).

Kopf runs through ``kopf.testing.KopfRunner`` in its own thread and loop; its start and stop
go through ``asyncio.to_thread`` so the test loop keeps serving the emulator meanwhile.
"""

import asyncio
import copy
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from kopf.testing import KopfRunner

from samu_operator import kube
from samu_operator.model.tenant import API_GROUP, API_VERSION, PLURAL
from samu_operator.sim.kubelet import EmulatedCluster

T = TypeVar("T")
TENANTS = f"{API_GROUP}/{API_VERSION}/{PLURAL}"
EXAMPLES = Path(__file__).resolve().parents[2] / "helm" / "samu-operator" / "examples"
KOPF_ARGS = ["run", "--standalone", "--all-namespaces", "-m", "samu_operator.handlers"]
if os.environ.get("SAMU_KOPF_VERBOSE"):  # debugging: Kopf's own debug log in the test output
    KOPF_ARGS.insert(1, "--verbose")
else:  # one log line per request and per handler costs the loaded test machine dearly
    KOPF_ARGS.insert(1, "--quiet")
    for noisy in ("aiohttp.access", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class OperatorThread:
    """One operator instance (Kopf in a thread) pointed at ``url``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.runner: KopfRunner | None = None
        self._server_env: str | None = None

    def start(self) -> None:
        self._server_env = os.environ.get(kube.SERVER_ENV)
        os.environ[kube.SERVER_ENV] = self.url
        kube.reset_shared()
        self.runner = KopfRunner(KOPF_ARGS, timeout=60)
        self.runner.__enter__()

    async def stop(self) -> None:
        if self.runner is not None:
            runner, self.runner = self.runner, None
            await asyncio.to_thread(runner.__exit__, None, None, None)
            # Not left behind for later tests (their subprocesses inherit the environment,
            # and an emulator that is gone costs every request its retries).
            if self._server_env in (None, self.url):
                os.environ.pop(kube.SERVER_ENV, None)
            else:
                os.environ[kube.SERVER_ENV] = self._server_env

    @property
    def output(self) -> str:
        return "" if self.runner is None else self.runner.output


def example(name: str) -> dict[str, Any]:
    return yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text(encoding="utf-8"))


def tenant_doc(
    department: str, *, partner: str | None = None, zones: tuple[str, ...] = ("a", "b", "c")
) -> dict[str, Any]:
    """A valid SamuTenant for a département, built on SAMU 30's example."""
    doc = copy.deepcopy(example("samu-30"))
    name = f"samu-{department.lower()}"
    doc["metadata"] = {"name": name}
    doc["spec"]["department"] = department
    doc["spec"]["displayName"] = f"SAMU {department}"
    doc["spec"]["pbx"]["zones"] = list(zones)
    doc["spec"]["failover"]["preferredZones"] = list(zones)
    if partner:
        doc["spec"]["overflow"] = {"partner": partner, "afterSeconds": 30}
    else:
        doc["spec"].pop("overflow", None)
    return doc


async def apply(cluster: EmulatedCluster, doc: dict[str, Any]) -> dict[str, Any]:
    return await cluster.emulator.put(TENANTS, copy.deepcopy(doc))


async def patch_tenant(cluster: EmulatedCluster, name: str, patch: dict[str, Any]) -> None:
    """A spec change as ``kubectl apply`` would make it (generation bumps)."""
    current = cluster.emulator.read(TENANTS, None, name)
    assert current is not None, name
    generation = current["metadata"].get("generation", 1) + ("spec" in patch)
    patch = copy.deepcopy(patch)
    patch.setdefault("metadata", {})["generation"] = generation
    await cluster.emulator.merge(TENANTS, None, name, patch)


async def kubectl_delete(cluster: EmulatedCluster, name: str) -> None:
    await cluster.emulator.kubectl_delete(TENANTS, None, name)


def tenant(cluster: EmulatedCluster, name: str) -> dict[str, Any] | None:
    return cluster.emulator.read(TENANTS, None, name)


def obj(
    cluster: EmulatedCluster, key: str, namespace: str | None, name: str
) -> dict[str, Any] | None:
    return cluster.emulator.read(key, namespace, name)


def phase(cluster: EmulatedCluster, name: str) -> str | None:
    body = tenant(cluster, name)
    return None if body is None else (body.get("status") or {}).get("phase")


async def wait_for(fn: Callable[[], T], timeout: float = 30.0, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or fn}")
        await asyncio.sleep(0.05)


#: Emulator keys of every kind a tenant's objects may have (for inventories in e2e tests).
TENANT_OBJECT_KEYS: tuple[str, ...] = (
    "v1/namespaces",
    "v1/configmaps",
    "v1/secrets",
    "v1/services",
    "v1/serviceaccounts",
    "v1/resourcequotas",
    "v1/limitranges",
    "v1/persistentvolumeclaims",
    "apps/v1/statefulsets",
    "networking.k8s.io/v1/networkpolicies",
    "policy/v1/poddisruptionbudgets",
)
