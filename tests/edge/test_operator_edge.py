"""The whole chain: the real operator (Kopf, against the emulated cluster) promotes a standby,
its edge handler re-renders the routing table and reloads the real Kamailio, and the next
15 calls (real SIPp) ring at the new active PBX."""

import asyncio
import os
from pathlib import Path

import pytest

os.environ.setdefault("SAMU_OPERATOR_RECHECK_SECONDS", "2")
os.environ.setdefault("SAMU_OPERATOR_METRICS_PORT", "0")
os.environ.setdefault("SAMU_FAILOVER_RECHECK_SECONDS", "1")
os.environ.setdefault("SAMU_OPERATOR_PEERING_LIFETIME", "3")

from samu_operator.edge.rpc import RpcError
from samu_operator.handlers import failover  # noqa: F401  the promotions this test needs
from samu_operator.sim.kubelet import EmulatedCluster
from tests.edge.conftest import Lab, sidecar_lab
from tests.operator.harness import TENANTS, OperatorThread, apply, tenant_doc, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.sip]


def _routed(lab: Lab, number: str) -> bool:
    """The routing map Kamailio holds now knows the number."""
    try:
        return bool(lab.edge.rpc.call("htable.get", "routing", f"n{number}"))
    except RpcError:
        return False


def _first_live(lab: Lab) -> str | None:
    """The PBX Kamailio would try first now (its own view, over RPC)."""
    live = [uri for uri, flags in lab.edge.dispatcher_flags().items() if flags.startswith("A")]
    by_uri = {p.uri: p.name for p in lab.pbx.values()}
    return by_uri.get(live[0]) if live else None


def _diagnosis(lab: Lab, cluster: EmulatedCluster) -> str:
    status = (cluster.emulator.read(TENANTS, None, "samu-30") or {}).get("status")
    return (
        f"edge sees {lab.edge.dispatcher_flags()} (a={lab.pbx['samu-30/a'].uri}); "
        f"file:\n{lab.edge.files.dispatcher.read_text()}\nstatus: {status}"
    )


async def test_promotion_by_the_operator_reloads_the_edge(tmp_path: Path, monkeypatch) -> None:
    with sidecar_lab(tmp_path, monkeypatch, ["samu-30/a", "samu-30/b", "samu-30/c"]) as lab:
        async with EmulatedCluster() as cluster:
            operator = OperatorThread(cluster.url)
            operator.start()
            try:
                doc = tenant_doc("30", zones=("a", "b", "c"))
                doc["spec"]["numbers"] = ["+33466000015"]
                doc["spec"]["failover"]["minIntervalSeconds"] = 0
                await apply(cluster, doc)
                try:
                    await wait_for(
                        lambda: _first_live(lab) == "samu-30-a" and _routed(lab, "+33466000015"),
                        40,
                        "edge routes to a",
                    )
                except AssertionError as exc:
                    raise AssertionError(_diagnosis(lab, cluster)) from exc
                run = await asyncio.to_thread(lab.caller(number="+33466000015").run, 20, 10)
                assert run.failed_setups == 0 and run.by_pbx() == {"samu-30-a": 10}

                await cluster.kubelet.set_pod_ready("samu-30", "pbx-a-0", False)
                await wait_for(lambda: _first_live(lab) == "samu-30-b", 30, "edge routes to b")
                # the lost PBX is left out or disabled: never selected, never probed again
                flags = lab.edge.dispatcher_flags().get(lab.pbx["samu-30/a"].uri, "D")
                assert flags.startswith("D"), flags
                run = await asyncio.to_thread(lab.caller(number="15", department="30").run, 20, 10)
                assert run.failed_setups == 0 and run.by_pbx() == {"samu-30-b": 10}
            finally:
                await operator.stop()
