"""samuctl plan: per-zone text, JSON plan, SVG topology, exit codes 0 / 1 / 2."""

import json
import xml.etree.ElementTree as ET

from samu_infra import guardrails
from samuctl.main import main
from tests.infra.stackgen import REPO, scaled_prod, stack_doc, write


def plan(*args: str) -> int:
    return main(["plan", "--project-root", str(REPO), *args])


def test_dev_plan_prints_zones_writes_json_and_svg(tmp_path, capsys):
    assert plan("--stack", "dev", "--out", str(tmp_path)) == 0
    out = capsys.readouterr().out
    for zone in ("fr-par-1a", "fr-par-1b", "fr-par-1c"):
        assert f"zone {zone}:" in out
    assert "all guardrails pass" in out
    assert "needs a real `pulumi preview --stack dev`" in out
    assert "out of scope" in out
    doc = json.loads((tmp_path / "plan-dev.json").read_text())
    assert doc["passed"] is True
    assert doc["resourceCount"] == len(doc["resources"])
    assert doc["outputs"]["telephonyKubeconfig"] == "[secret]"
    control = [
        r
        for r in doc["resources"]
        if r["name"] == "telephony-cp-fr-par-1a" and r["type"].endswith(":Instance")
    ]
    assert control[0]["inputs"]["userData"] == "[secret]"  # it carries the join token
    svg = ET.fromstring((tmp_path / "topology-dev.svg").read_text())
    texts = " ".join(t.text or "" for t in svg.iter("{http://www.w3.org/2000/svg}text"))
    assert "fr-par-1a" in texts and "database" in texts and "k8s-control" in texts


def test_json_output(tmp_path, capsys):
    assert plan("--stack", "dev", "--out", str(tmp_path), "-o", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert "resources" not in doc
    assert {g["rule"] for g in doc["guardrails"]} == set(guardrails.RULES)
    assert doc["summary"]["columns"] == ["fr-par-1a", "fr-par-1b", "fr-par-1c", "regional"]


def test_config_error_exits_2_before_declaring_anything(tmp_path, capsys):
    doc = stack_doc("dev")
    doc["config"]["samu-platform:cloud"]["zones"] = ["fr-par-1a", "fr-par-1b"]
    path = write(doc, tmp_path, "broken")
    out_dir = tmp_path / "out"
    assert plan("--config-file", str(path), "--out", str(out_dir)) == 2
    err = capsys.readouterr().err
    assert "samu-platform:cloud.zones" in err and "3 availability zones" in err
    assert not out_dir.exists()


def test_failing_guardrail_exits_1_with_a_readable_list(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(
        guardrails.RULES,
        "no-bastion-allowed",
        lambda inv: [
            f"instance {r.name} is a bastion" for r in inv.of_kind("Instance") if r.tier == "admin"
        ],
    )
    assert plan("--stack", "dev", "--out", str(tmp_path)) == 1
    captured = capsys.readouterr()
    assert "[FAIL] no-bastion-allowed" in captured.out
    assert "no-bastion-allowed: instance bastion is a bastion" in captured.err
    assert json.loads((tmp_path / "plan-dev.json").read_text())["passed"] is False


def test_generated_stack_from_a_config_file(tmp_path, capsys):
    path = write(scaled_prod(2), tmp_path, "prod-x2")
    assert plan("--config-file", str(path), "--out", str(tmp_path), "-o", "json") == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["stack"] == "prod-x2"
    counts = doc["byType"]
    assert counts["openstack:compute/instance:Instance"] == 1 + 2 * (15 + 9) + 4 + 1


def test_stack_name_is_a_name_not_a_path(tmp_path, capsys):
    assert plan("--stack", "../dev", "--out", str(tmp_path)) == 2
    assert "a stack name is" in capsys.readouterr().err


def test_missing_stack_file_exits_2(tmp_path, capsys):
    assert plan("--stack", "staging", "--out", str(tmp_path)) == 2
    assert "no such stack file" in capsys.readouterr().err
