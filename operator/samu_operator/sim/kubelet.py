"""A simulated kubelet and StatefulSet controller for the emulator (which runs no controllers).

It runs as a task in the emulator's event loop and writes to the emulator in-process (so its
writes are not in the emulator's request log, which holds only what the operator asked):

* creates the nodes of each zone (label ``topology.kubernetes.io/zone``), Ready;
* creates the pods of each StatefulSet (``<name>-<ordinal>``) on a Ready node of the zone its
  node affinity requires, with the template's labels, and marks them Ready after
  ``ready_after`` seconds; deletes the pods of a StatefulSet that is gone;
* lets tests and the drill break things: ``set_node_ready``, ``fail_zone``/``restore_zone``,
  ``set_pod_ready``, ``delete_pod``, and ``hold`` (stop creating pods in a zone).

A pod deleted by hand is re-created (as the StatefulSet controller would), unless its zone is
held or has no Ready node.
"""

import asyncio
import contextlib
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from samu_operator.core import labels as lbl
from samu_operator.sim.emulator import SamuEmulator, now_rfc3339

PODS = "v1/pods"
NODES = "v1/nodes"
STATEFULSETS = "apps/v1/statefulsets"


def _ready_condition(ready: bool, reason: str = "") -> dict[str, Any]:
    cond = {
        "type": "Ready",
        "status": "True" if ready else "False",
        "lastTransitionTime": now_rfc3339(),
    }
    return cond | ({"reason": reason} if reason else {})


def required_zone(sts: dict[str, Any]) -> str | None:
    """The zone a StatefulSet's pods must run in (its required node affinity)."""
    spec = sts.get("spec", {}).get("template", {}).get("spec", {})
    required = (
        spec.get("affinity", {})
        .get("nodeAffinity", {})
        .get("requiredDuringSchedulingIgnoredDuringExecution", {})
    )
    for term in required.get("nodeSelectorTerms", []):
        for expr in term.get("matchExpressions", []):
            if expr.get("key") == lbl.NODE_ZONE and expr.get("operator") == "In":
                return str(expr["values"][0])
    return None


@dataclass
class Kubelet:
    """Plays the kubelet and the StatefulSet controller. ``await start()``, ``await stop()``."""

    emulator: SamuEmulator
    zones: Iterable[str] = ("a", "b", "c")
    nodes_per_zone: int = 1
    ready_after: float = 0.0
    poll: float = 0.05
    held: set[str] = field(default_factory=set)
    _task: asyncio.Task[None] | None = None
    _ips: Any = field(default_factory=lambda: itertools.count(1))

    async def start(self) -> None:
        for zone in self.zones:
            for i in range(self.nodes_per_zone):
                await self.add_node(zone, f"node-{zone}-{i}")
        self._task = asyncio.create_task(self._run(), name="simulated-kubelet")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def add_node(self, zone: str, name: str) -> None:
        await self.emulator.put(
            NODES,
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": name, "labels": {lbl.NODE_ZONE: zone}},
                "status": {"conditions": [_ready_condition(True, "KubeletReady")]},
            },
        )

    # --- breaking things ----------------------------------------------------------------

    async def set_node_ready(self, node: str, ready: bool) -> None:
        """NotReady also gets the ``unreachable`` taint, as the node controller would add."""
        taints = [] if ready else [{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}]
        reason = "KubeletReady" if ready else "NodeStatusUnknown"
        patch = {
            "spec": {"taints": taints},
            "status": {"conditions": [_ready_condition(ready, reason)]},
        }
        await self.emulator.merge(NODES, None, node, patch)

    async def fail_zone(self, zone: str, *, pods_unready: bool = True) -> None:
        """Every node of the zone NotReady; its pods unready too unless ``pods_unready`` is
        False (a partitioned zone whose pods still think they are fine)."""
        self.held.add(zone)
        for node in self.nodes_in(zone):
            await self.set_node_ready(node, False)
        if pods_unready:
            for pod in self.pods_in(zone):
                await self.set_pod_ready(
                    pod["metadata"]["namespace"], pod["metadata"]["name"], False
                )

    async def restore_zone(self, zone: str) -> None:
        self.held.discard(zone)
        for node in self.nodes_in(zone):
            await self.set_node_ready(node, True)
        for pod in self.pods_in(zone):
            await self.set_pod_ready(pod["metadata"]["namespace"], pod["metadata"]["name"], True)

    async def set_pod_ready(self, namespace: str, name: str, ready: bool) -> None:
        patch = {"status": {"conditions": [_ready_condition(ready)], "phase": "Running"}}
        await self.emulator.merge(PODS, namespace, name, patch)

    async def delete_pod(self, namespace: str, name: str) -> bool:
        return await self.emulator.remove(PODS, namespace, name)

    def hold(self, zone: str, held: bool = True) -> None:
        (self.held.add if held else self.held.discard)(zone)

    # --- what a cluster would do on its own ----------------------------------------------

    def nodes_in(self, zone: str, ready_only: bool = False) -> list[str]:
        out = []
        for node in self.emulator.objects_of(NODES):
            if node["metadata"].get("labels", {}).get(lbl.NODE_ZONE) != zone:
                continue
            conds = node.get("status", {}).get("conditions", [])
            ready = any(c["type"] == "Ready" and c["status"] == "True" for c in conds)
            if ready or not ready_only:
                out.append(node["metadata"]["name"])
        return sorted(out)

    def pods_in(self, zone: str) -> list[dict[str, Any]]:
        """The pods running on the zone's nodes."""
        nodes = set(self.nodes_in(zone))
        return [
            p for p in self.emulator.objects_of(PODS) if p.get("spec", {}).get("nodeName") in nodes
        ]

    async def _run(self) -> None:
        while True:
            await self.sync()
            await asyncio.sleep(self.poll)

    async def sync(self) -> None:
        """One pass: create missing pods, delete orphans, make new pods ready."""
        wanted: set[tuple[str, str]] = set()
        for sts in self.emulator.objects_of(STATEFULSETS):
            meta, spec = sts["metadata"], sts.get("spec", {})
            for ordinal in range(int(spec.get("replicas", 1))):
                key = (meta["namespace"], f"{meta['name']}-{ordinal}")
                wanted.add(key)
                if self.emulator.read(PODS, *key) is None:
                    await self._create_pod(sts, key[1])
        for pod in self.emulator.objects_of(PODS):
            meta = pod["metadata"]
            owner = meta.get("labels", {}).get(lbl.COMPONENT) == lbl.PBX
            if owner and (meta["namespace"], meta["name"]) not in wanted:
                await self.emulator.remove(PODS, meta["namespace"], meta["name"])

    async def _create_pod(self, sts: dict[str, Any], name: str) -> None:
        zone = required_zone(sts)
        if zone is None or zone in self.held:
            return
        nodes = self.nodes_in(zone, ready_only=True)
        if not nodes:
            return  # unschedulable: no Ready node in its zone
        template = sts["spec"]["template"]
        ip = next(self._ips)
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "namespace": sts["metadata"]["namespace"],
                "labels": dict(template.get("metadata", {}).get("labels", {})),
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "StatefulSet",
                        "name": sts["metadata"]["name"],
                        "uid": sts["metadata"].get("uid", ""),
                        "controller": True,
                    }
                ],
            },
            "spec": dict(template.get("spec", {}), nodeName=nodes[hash(name) % len(nodes)]),
            "status": {
                "phase": "Running",
                "podIP": f"10.{ip // 65536 % 256}.{ip // 256 % 256}.{ip % 256}",
                "conditions": [_ready_condition(self.ready_after <= 0)],
            },
        }
        await self.emulator.put(PODS, pod)
        if self.ready_after > 0:
            asyncio.get_running_loop().call_later(
                self.ready_after,
                lambda: asyncio.ensure_future(
                    self.set_pod_ready(pod["metadata"]["namespace"], name, True)
                ),
            )


@dataclass
class EmulatedCluster:
    """The emulator served over HTTP on 127.0.0.1 plus the simulated kubelet, in this loop.

    ``async with EmulatedCluster() as cluster:`` then ``cluster.url`` for the operator,
    ``cluster.emulator`` for objects and the request log, ``cluster.kubelet`` to break things.
    """

    zones: Iterable[str] = ("a", "b", "c")
    nodes_per_zone: int = 1
    emulator: SamuEmulator = field(default_factory=SamuEmulator)
    kubelet: Kubelet = field(init=False)
    url: str = ""
    _stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    async def __aenter__(self) -> "EmulatedCluster":
        from kmock import Server

        await self._stack.enter_async_context(self.emulator)
        server = await self._stack.enter_async_context(Server(self.emulator))
        self.url = str(server.url).rstrip("/")
        self.kubelet = Kubelet(self.emulator, tuple(self.zones), self.nodes_per_zone)
        await self.kubelet.start()
        self._stack.push_async_callback(self.kubelet.stop)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()
