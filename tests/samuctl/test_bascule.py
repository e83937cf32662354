"""samuctl bascule on the embedded default (the rehearsal: emulated cluster + the real
operator in the process): a wave flipped one by one and all at once, stopped by a failed or
unanswerable check with the SAMU and the check named, rolled back; and the plan and checks
over tenant files, offline."""

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from samuctl.main import main
from tests.conftest import REPO

pytestmark = pytest.mark.e2e

UNANSWERABLE = "pbx-probed-up,positions-registered,recordings-shipping,test-call"


def _wave(tmp_path: Path, tenants: list[str], strategy: str = "one-by-one") -> str:
    path = tmp_path / "wave.yaml"
    path.write_text(yaml.safe_dump({"wave": "nuit-1", "strategy": strategy, "tenants": tenants}))
    return str(path)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    code = main(["bascule", *argv, "-o", "json"])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def _tenant(department: str, **routing: Any) -> dict[str, Any]:
    """An example tenant moved to zones a/b/c, with an old platform and secours."""
    doc = yaml.safe_load((REPO / "helm/samu-operator/examples/samu-30.yaml").read_text())
    doc["metadata"]["name"] = f"samu-{department.lower()}"
    spec = doc["spec"]
    spec.update(department=department, numbers=[], displayName=f"SAMU {department}")
    spec["pbx"]["zones"] = spec["failover"]["preferredZones"] = ["a", "b", "c"]
    spec.pop("overflow")
    spec["routing"] = {
        "mode": "legacy",
        "legacy": {"trunks": [f"sips:sbc.crra{department}.example.fr:5061"]},
        "fallbacks": ["platform", "legacy", "secours"],
        "secours": [{"number": f"+33{department}0000099"}],
        **routing,
    }
    return doc


def test_rehearsal_flips_the_wave_one_by_one_in_order(tmp_path, capsys) -> None:
    wave = _wave(tmp_path, ["samu-30", "samu-13", "samu-2a"])
    code, report, _ = _run(
        capsys, "run", "--wave", wave, "--rehearsal", "--accept-unchecked", UNANSWERABLE
    )
    assert code == 0, report
    assert report["flipped"] == ["samu-30", "samu-13", "samu-2a"]
    assert report["stopped"] is None and report["setupFailed"] is None
    assert 0 < report["seconds"] < 60
    assert report["waived"] == sorted(UNANSWERABLE.split(","))
    for outcome in report["tenants"]:
        assert (outcome["from"], outcome["to"]) == ("legacy", "platform")
        assert outcome["acknowledgedSeconds"] is not None
        verdicts = {c["check"]: c["verdict"] for c in outcome["checks"]}
        assert verdicts["tenant-ready"] == verdicts["standby-ready"] == "pass"
    at = [o["flippedAt"] for o in report["tenants"]]
    assert at == sorted(at)


def test_unanswerable_checks_fail_closed(tmp_path, capsys) -> None:
    code, report, _ = _run(capsys, "run", "--wave", _wave(tmp_path, ["samu-30"]), "--rehearsal")
    assert code == 1
    assert report["flipped"] == []
    assert report["stopped"]["tenant"] == "samu-30"
    assert report["stopped"]["check"] == "pbx-probed-up"
    assert report["stopped"]["verdict"] == "cannot check"


def test_a_failed_check_stops_the_wave_at_that_samu(tmp_path, capsys) -> None:
    files = tmp_path / "tenants.yaml"
    files.write_text(
        yaml.safe_dump_all([_tenant("30"), _tenant("34", secours=[], fallbacks=["platform"])])
    )
    wave = _wave(tmp_path, ["samu-30", "samu-34"])
    argv = ["--wave", wave, "--rehearsal", "--tenants", str(files)]
    code, report, _ = _run(capsys, "run", *argv, "--accept-unchecked", UNANSWERABLE)
    assert code == 1
    assert report["flipped"] == ["samu-30"]
    assert report["stopped"] == {
        "tenant": "samu-34",
        "check": "secours-named",
        "verdict": "fail",
        "detail": "no spec.routing.secours: name the centre's backup lines",
    }
    # all at once: one SAMU blocks, none is flipped
    wave = _wave(tmp_path, ["samu-30", "samu-34"], strategy="all-at-once")
    argv = ["--wave", wave, "--rehearsal", "--tenants", str(files)]
    code, report, _ = _run(capsys, "run", *argv, "--accept-unchecked", UNANSWERABLE)
    assert code == 1 and report["flipped"] == []
    assert report["stopped"]["tenant"] == "samu-34"


def test_rehearsal_rollback_flips_back_in_reverse_order(tmp_path, capsys) -> None:
    wave = _wave(tmp_path, ["samu-30", "samu-13"])
    argv = ["--wave", wave, "--rehearsal", "--accept-unchecked", "old-platform-probed-up"]
    code, report, _ = _run(capsys, "rollback", *argv)
    assert code == 0, report
    assert report["direction"] == "rollback"
    assert report["flipped"] == ["samu-13", "samu-30"]
    assert {(o["from"], o["to"]) for o in report["tenants"]} == {("platform", "legacy")}


def test_plan_and_check_offline_from_tenant_files(tmp_path, capsys) -> None:
    wave = _wave(tmp_path, ["samu-13"])
    examples = [str(p) for p in sorted((REPO / "helm/samu-operator/examples").glob("*.yaml"))]
    code, plan, _ = _run(capsys, "plan", "--wave", wave, "--tenants", *examples)
    assert code == 0
    [item] = plan["items"]
    assert (item["mode_now"], item["mode_after"]) == ("legacy", "platform")
    assert (item["entry_set_now"], item["entry_set_after"]) == (1013, 2013)
    assert item["chain_after"] == ["platform", "legacy", "partner", "secours"]
    assert plan["rows_changed"] == 3  # two numbers and the département
    # the files' status is empty (as written by a person): not Ready, the check says so
    code, checks, _ = _run(capsys, "check", "--wave", wave, "--tenants", *examples)
    assert code == 1
    verdicts = {c["check"]: c["verdict"] for c in checks["tenants"][0]["checks"]}
    assert verdicts["tenant-ready"] == "fail" and verdicts["secours-named"] == "pass"
    assert verdicts["test-call"] == "cannot check"
