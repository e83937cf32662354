"""The edge pod's routing sidecar, run as the chart runs it (its own process, `kopf run -m
samu_operator.edge.sidecar`, kubeconfig login) against the emulated API server and a real
Kamailio: a restart never cuts the table down to the tenants listed so far, and a promotion
reaches Kamailio as one reload."""

import asyncio
import os
import sys
from pathlib import Path

import pytest
import yaml

from samu_operator.core.routing import build_routing
from samu_operator.sim.kubelet import EmulatedCluster
from tests.edge.conftest import Lab, tenant_doc
from tests.edge.harness import missing_binaries
from tests.operator.harness import TENANTS, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.sip]

DEPARTMENTS = ["30", "34", "13", "84", "06", "83", "04", "05", "2A", "2B", "48", "07"]


def _kubeconfig(path: Path, server: str) -> Path:
    path.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "emulator", "cluster": {"server": server}}],
                "users": [{"name": "sidecar", "user": {"token": "test"}}],
                "contexts": [
                    {"name": "emulator", "context": {"cluster": "emulator", "user": "sidecar"}}
                ],
                "current-context": "emulator",
            }
        )
    )
    return path


def _first_of(lab: Lab, set_id: int) -> str | None:
    result = lab.edge.rpc.call("dispatcher.list")
    for record in result["RECORDS"]:
        if record["SET"]["ID"] == set_id:
            return record["SET"]["TARGETS"][0]["DEST"]["URI"]
    return None


async def test_sidecar_restart_keeps_every_tenant_and_follows_a_promotion(tmp_path: Path) -> None:
    if missing_binaries():
        pytest.skip(f"{', '.join(missing_binaries())} not installed: `make debs`")
    docs = [tenant_doc(d, numbers=[f"+3340000{i:04d}"]) for i, d in enumerate(DEPARTMENTS)]
    lab = Lab(tmp_path)
    for zone in ("a", "b"):
        lab.add_pbx("samu-30", zone)
    for doc in docs:  # every other tenant's PBX: the same two stand-ins
        for zone in ("a", "b"):
            lab.addresses[f"{doc['metadata']['name']}/{zone}"] = lab.pbx[f"samu-30/{zone}"].uri
    lab.start(docs)  # Kamailio already runs with the full table (a sidecar restart)
    full_table = lab.edge.files.dispatcher.read_text()

    async with EmulatedCluster() as cluster:
        for doc in docs:
            await cluster.emulator.put(TENANTS, doc)
        env = {
            **os.environ,
            "KUBECONFIG": str(_kubeconfig(tmp_path / "kubeconfig", cluster.url)),
            "SAMU_EDGE_DIR": str(lab.edge.files.directory),
            "SAMU_EDGE_RPC_URL": lab.edge.rpc.url,
            "SAMU_EDGE_ADDRESSES": __import__("json").dumps(lab.all_addresses),
        }
        log = (tmp_path / "sidecar.log").open("wb")
        sidecar = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "kopf", "run", "--standalone", "--all-namespaces"),
            *("--verbose", "-m", "samu_operator.edge.sidecar"),
            env=env,
            stdout=log,
            stderr=log,
        )
        try:
            text = lambda: (tmp_path / "sidecar.log").read_text(errors="replace")  # noqa: E731
            await wait_for(lambda: "edge_tenant_event" in text(), 30, "the sidecar's first event")
            await asyncio.sleep(2.0)  # past its first debounce
            assert "reloaded for" not in text(), "same tenants, same table: nothing to reload"
            assert lab.edge.files.dispatcher.read_text() == full_table

            promoted = tenant_doc("30", numbers=["+33400000000"], active="b", epoch=2)
            await cluster.emulator.merge(TENANTS, None, "samu-30", {"status": promoted["status"]})
            b_uri = lab.pbx["samu-30/b"].uri
            await wait_for(lambda: _first_of(lab, 30) == b_uri, 15, "samu-30's set led by b")
            # The sidecar logs after Kamailio's reload answers: wait for the line, not a race.
            await wait_for(lambda: "reloaded for" in text(), 5, "the sidecar's reload log line")
            reloads = [line for line in text().splitlines() if "reloaded for" in line]
            assert len(reloads) == 1 and f"reloaded for {len(docs)} tenants" in reloads[0]
            expected = build_routing(
                [*docs[1:], promoted], addresses=lab.all_addresses
            ).dispatcher_list()
            assert lab.edge.files.dispatcher.read_text() == expected
        finally:
            sidecar.terminate()
            await sidecar.wait()
            log.close()
            lab.stop()
