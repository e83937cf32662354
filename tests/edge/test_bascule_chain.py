"""The bascule's whole chain: `samuctl bascule run` against the API (the emulated cluster with
the real operator, whose edge handler re-renders and reloads the real Kamailio), its edge
checks answered by Kamailio's own probes (--edge-rpc), the flip confirmed at the edge, the
next calls (real SIPp) answered by the PBX; then `rollback` back to the old platform."""

import asyncio
import contextlib
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml

os.environ.setdefault("SAMU_OPERATOR_RECHECK_SECONDS", "2")
os.environ.setdefault("SAMU_OPERATOR_METRICS_PORT", "0")

from samu_operator.bascule.checks import settled
from samu_operator.edge.rpc import RpcError
from samu_operator.sim.kubelet import EmulatedCluster
from samuctl.main import main
from tests.edge.conftest import Lab, sidecar_lab
from tests.operator.harness import OperatorThread, apply, tenant, tenant_doc, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.sip]

NUMBER = "+33466000015"
NOT_YET = "positions-registered,recordings-shipping,test-call"


def _routed_to(lab: Lab, set_id: int) -> bool:
    try:
        item = lab.edge.rpc.call("htable.get", "routing", f"n{NUMBER}")
    except RpcError:
        return False
    return int(item["item"]["value"]) == set_id


def _probed_up(lab: Lab, uri: str) -> bool:
    return lab.edge.dispatcher_flags().get(uri, "").startswith("A")


async def _samuctl(*argv: str) -> tuple[int, Any]:
    """samuctl in a thread (the test loop serves the emulator), its output read directly:
    the operator's thread leaves pytest's capture of sys.stdout behind."""

    def run() -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["bascule", *argv, "-o", "json"])
        return code, out.getvalue(), err.getvalue()

    code, out, err = await asyncio.to_thread(run)
    assert out.strip(), f"samuctl bascule {argv[0]} exited {code}: {err}"
    return code, json.loads(out)


async def test_run_and_rollback_through_the_operator_and_the_edge(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stand_ins = ["samu-30/a", "samu-30/b", "samu-30/c", "samu-30/legacy-1"]
    with sidecar_lab(tmp_path, monkeypatch, stand_ins) as lab:
        legacy = lab.pbx["samu-30/legacy-1"]
        wave = tmp_path / "wave.yaml"
        wave.write_text(yaml.safe_dump({"wave": "nuit-1", "tenants": ["samu-30"]}))

        async with EmulatedCluster() as cluster:
            operator = OperatorThread(cluster.url)
            operator.start()
            try:
                doc = tenant_doc("30", zones=("a", "b", "c"))
                doc["spec"]["numbers"] = [NUMBER]
                doc["spec"]["routing"] = {
                    "mode": "legacy",
                    "legacy": {"trunks": ["sips:sbc1.crra30.example.fr:5061"]},
                    "fallbacks": ["platform", "legacy", "secours"],
                    "secours": [{"number": "+33466000099"}],
                }
                await apply(cluster, doc)
                pbx_a = lab.pbx["samu-30/a"].uri
                await wait_for(
                    lambda: (
                        _routed_to(lab, 1030)
                        and _probed_up(lab, legacy.uri)
                        and _probed_up(lab, pbx_a)
                        and settled(tenant(cluster, "samu-30"))
                    ),
                    40,
                    "samu-30 Ready and settled, routed to its old platform, everything probed up",
                )
                run = await asyncio.to_thread(lab.caller(number=NUMBER).run, 20, 10)
                assert run.failed_setups == 0 and run.by_pbx() == {"samu-30-legacy-1": 10}

                common = ["--wave", str(wave), "--server", cluster.url, "--yes"]
                common += ["--edge-rpc", lab.edge.rpc.url]
                code, report = await _samuctl("run", *common, "--accept-unchecked", NOT_YET)
                assert code == 0, (report["stopped"], report["tenants"])
                assert report["flipped"] == ["samu-30"]
                [outcome] = report["tenants"]
                verdicts = {c["check"]: c["verdict"] for c in outcome["checks"]}
                assert verdicts["pbx-probed-up"] == "pass"  # Kamailio's own probes said so
                assert outcome["edgeSeconds"] is not None and outcome["edgeSeconds"] < 5
                assert tenant(cluster, "samu-30")["spec"]["routing"]["mode"] == "platform"
                run = await asyncio.to_thread(lab.caller(number=NUMBER).run, 20, 10)
                assert run.failed_setups == 0 and run.by_pbx() == {"samu-30-a": 10}

                back = ["--accept-unchecked", ""]  # the old platform's probes answer it
                code, report = await _samuctl("rollback", *common, *back)
                assert code == 0, (report["stopped"], report["tenants"])
                [check] = report["tenants"][0]["checks"]
                assert (check["check"], check["verdict"]) == ("old-platform-probed-up", "pass")
                run = await asyncio.to_thread(lab.caller(number=NUMBER).run, 20, 10)
                assert run.failed_setups == 0 and run.by_pbx() == {"samu-30-legacy-1": 10}
            finally:
                await operator.stop()
