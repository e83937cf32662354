"""samuctl tenant validate / crd: exit codes, messages by file and field, JSON output."""

import json

import yaml

from samuctl.main import main
from tests.conftest import REPO, example_paths, load_samu30


def test_validate_examples_exits_zero(capsys):
    assert main(["tenant", "validate", *map(str, example_paths())]) == 0
    out = capsys.readouterr().out
    assert "samu-30" in out
    assert f"{len(example_paths())} valid, 0 invalid" in out


def test_validate_names_every_error_by_file_and_field(tmp_path, capsys):
    good = tmp_path / "samu-30.yaml"
    good.write_text(yaml.safe_dump(load_samu30()))
    doc = load_samu30()
    doc["spec"]["department"] = "20"
    doc["spec"]["capacity"]["agents"] = 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(doc))
    assert main(["tenant", "validate", str(good), str(bad)]) == 1
    err = capsys.readouterr().err
    assert f"{bad}: spec.department:" in err
    assert f"{bad}: spec.capacity.agents:" in err
    assert "1 valid, 1 invalid" in err


def test_validate_reports_each_document_of_a_multi_document_file(tmp_path, capsys):
    doc = load_samu30()
    bad = load_samu30()
    bad["spec"]["pbx"]["zones"] = ["a"]
    both = tmp_path / "both.yaml"
    both.write_text(yaml.safe_dump_all([doc, bad]))
    assert main(["tenant", "validate", "-o", "json", str(both)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert [r["valid"] for r in report] == [True, False]
    assert report[1]["source"] == f"{both}#1"
    assert report[1]["errors"][0]["path"] == "spec.pbx.zones"


def test_validate_unreadable_and_unparsable_files(tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text("spec: [unclosed")
    assert main(["tenant", "validate", str(broken), str(tmp_path / "missing.yaml")]) == 1
    err = capsys.readouterr().err
    assert "broken.yaml: (file): not valid YAML" in err
    assert "missing.yaml: (file): no such file" in err


def test_crd_check_fails_on_a_stale_file_and_generate_fixes_it(tmp_path, capsys):
    stale = tmp_path / "crd.yaml"
    stale.write_text("kind: Stale\n")
    assert main(["crd", "generate", "--check", "--path", str(stale)]) == 1
    assert main(["crd", "generate", "--path", str(stale)]) == 0
    assert main(["crd", "generate", "--check", "--path", str(stale)]) == 0
    committed = REPO / "helm/samu-operator/crds/samutenants.samu-platform.io.yaml"
    assert stale.read_text() == committed.read_text()


def test_help_is_available_everywhere(capsys):
    for argv in (
        ["--help"],
        ["tenant", "--help"],
        ["tenant", "validate", "--help"],
        ["crd", "--help"],
    ):
        try:
            main(argv)
        except SystemExit as exit_:
            assert exit_.code == 0
        assert "usage: samuctl" in capsys.readouterr().out
