"""The bascule's rehearsal on the embedded default: the Kubernetes emulator, a simulated
kubelet and the real operator in this process (as ``samuctl drill``), the wave's tenants
onboarded in legacy mode, then the very runner a cluster gets (runner.py) over the
emulator's API. Nothing leaves the machine; no call is placed (NOT_MEASURED).

The tenants are the ones given (their specs, e.g. the centres' own files; their zones become
the emulated cluster's) or, by default, small valid tenants named after the wave's entries,
each with a stand-in old platform. A rollback rehearsal first flips the wave to the platform
(not reported), then rolls it back.
"""

import asyncio
import copy
import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from samu_operator import kube
from samu_operator.bascule.checks import settled
from samu_operator.bascule.runner import Runner, WaveReport
from samu_operator.bascule.wave import Wave
from samu_operator.sim.drill import TENANTS, OperatorInThread, tenant_doc

TARGET = "the embedded default (emulated cluster, real operator): a rehearsal"
ZONES = ("a", "b", "c")
#: A number of the rehearsal's own tenants: never dialled (no call leaves the process).
REHEARSAL_SECOURS = "+33999000015"


def rehearsal_tenant(name: str, zones: Sequence[str], index: int) -> dict[str, Any]:
    """A small valid tenant for a wave entry, in legacy mode with a stand-in old platform."""
    department = name.removeprefix("samu-").upper()
    doc = tenant_doc(department, list(zones), index)
    doc["spec"]["routing"] = {
        "mode": "legacy",
        "legacy": {"trunks": [f"sips:legacy.{name}.rehearsal.invalid:5061"]},
        "fallbacks": ["platform", "legacy", "secours"],
        "secours": [{"number": REHEARSAL_SECOURS, "description": "rehearsal"}],
    }
    return doc


def _as_given(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A tenant file as a person applies it: name and spec (the status is the operator's)."""
    return {
        "apiVersion": doc.get("apiVersion"),
        "kind": doc.get("kind"),
        "metadata": {"name": (doc.get("metadata") or {}).get("name")},
        "spec": copy.deepcopy(dict(doc.get("spec") or {})),
    }


async def rehearse(
    wave: Wave,
    direction: str,
    *,
    tenants: Sequence[Mapping[str, Any]] | None = None,
    waived: frozenset[str] = frozenset(),
    timeout: float = 60.0,
    say: Callable[[str], None] = lambda _text: None,
    action: str = "run",
) -> Any:
    """``action`` "run" flips the wave (``direction`` run or rollback) and returns its
    WaveReport; "plan" and "check" return the runner's plan or checks, changing nothing."""
    from samu_operator.sim import kmock_speedup
    from samu_operator.sim.kubelet import EmulatedCluster

    kmock_speedup.install()
    os.environ.setdefault("SAMU_OPERATOR_METRICS_PORT", "0")
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("kopf").setLevel(logging.ERROR)
    if tenants:
        docs = [_as_given(d) for d in tenants]
        zones = sorted({z for d in docs for z in (d["spec"].get("pbx") or {}).get("zones", [])})
    else:
        docs = [rehearsal_tenant(n, ZONES, i) for i, n in enumerate(wave.tenants)]
        zones = list(ZONES)
    async with EmulatedCluster(zones=tuple(zones) or ZONES) as cluster:
        op = OperatorInThread(cluster.url)
        op.start()
        try:
            say(f"rehearsal: onboarding {len(docs)} tenants on the emulated cluster")
            for doc in docs:
                await cluster.emulator.put(TENANTS, doc)
            names = [d["metadata"]["name"] for d in docs]
            await _until_ready(cluster.emulator, names, timeout, say)
            client = kube.Kube(kube.make_api_client(cluster.url))
            runner = Runner(client, TARGET, waived=waived, timeout=timeout, say=say)
            if action == "plan":
                return await asyncio.to_thread(runner.plan, wave, direction)
            if action == "check":
                return await asyncio.to_thread(runner.check, wave, direction)
            if direction == "rollback":
                say("rehearsal: flipping the wave to the platform first, to roll it back")
                setup = Runner(client, TARGET, waived=_ALL, timeout=timeout)
                done: WaveReport = await asyncio.to_thread(setup.run, wave, "run")
                if not done.ok:
                    raise RuntimeError(
                        f"the rehearsal's own flip to the platform stopped: {done.stopped}"
                    )
            report: WaveReport = await asyncio.to_thread(runner.run, wave, direction)
            return report
        finally:
            await op.stop()


#: The rehearsal's own set-up flip waives what nothing can answer in it.
_ALL = frozenset({"positions-registered", "recordings-shipping", "test-call", "pbx-probed-up"})


async def _until_ready(
    emulator: Any, names: list[str], timeout: float, say: Callable[[str], None]
) -> None:
    """Until every tenant is Ready with its status settled (checks.settled), as a person
    waits before a real night."""
    deadline = time.monotonic() + timeout
    while True:
        ready = sum(1 for n in names if settled(emulator.read(TENANTS, None, n) or {}))
        say(f"rehearsal: {ready}/{len(names)} tenants Ready")
        if ready == len(names):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"only {ready} of {len(names)} tenants became Ready within {timeout:.0f} s"
            )
        await asyncio.sleep(0.1)
