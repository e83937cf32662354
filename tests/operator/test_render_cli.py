"""samuctl tenant render: what the operator would create, for review before onboarding."""

import json

import yaml

from samuctl.main import main
from tests.operator.harness import EXAMPLES


def test_render_yaml(capsys):
    assert main(["tenant", "render", str(EXAMPLES / "samu-30.yaml")]) == 0
    docs = list(yaml.safe_load_all(capsys.readouterr().out))
    assert docs[0]["kind"] == "Namespace" and docs[0]["metadata"]["name"] == "samu-30"
    assert {d["kind"] for d in docs} >= {"StatefulSet", "ConfigMap", "NetworkPolicy", "Secret"}
    secret = next(d for d in docs if d["kind"] == "Secret")
    assert "stringData" not in secret and "data" not in secret


def test_render_json_several_files(capsys):
    files = [str(EXAMPLES / "samu-30.yaml"), str(EXAMPLES / "samu-974.yaml")]
    assert main(["tenant", "render", "-o", "json", *files]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["kind"] == "List"
    assert {o["metadata"]["name"] for o in out["items"] if o["kind"] == "Namespace"} == {
        "samu-30",
        "samu-974",
    }


def test_render_refuses_invalid_file(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    doc = yaml.safe_load((EXAMPLES / "samu-30.yaml").read_text())
    doc["spec"]["pbx"]["zones"] = ["a"]
    bad.write_text(yaml.safe_dump(doc))
    assert main(["tenant", "render", str(bad)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "spec.pbx.zones" in captured.err
