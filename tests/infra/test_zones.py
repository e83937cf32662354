"""Zone names: the nodes' topology.kubernetes.io/zone values are the stack's cloud.zones; the
chart's examples and NOTES use them; `samuctl tenant validate --stack` checks a tenant's."""

from pathlib import Path

import pytest
import yaml

from samu_infra import userdata
from samu_infra.zones import ZONE_LABEL, tenant_zone_issues
from samuctl.main import main
from tests.infra.conftest import config_of, instances, run_of
from tests.infra.stackgen import REPO

EXAMPLES = sorted((REPO / "helm" / "samu-operator" / "examples").glob("*.yaml"))


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_node_is_labelled_with_its_stack_zone(stack):
    cfg, run = config_of(stack), run_of(stack)
    nodes = [i for i in instances(run) if i.tier in ("k8s-control", "k8s-worker")]
    for node in nodes:
        config = yaml.safe_load(
            userdata.files(node.inputs["userData"])["/etc/rancher/rke2/config.yaml"]
        )
        assert f"{ZONE_LABEL}={node.zone}" in config["node-label"]
    assert {n.zone for n in nodes} == set(cfg.zones)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_the_examples_use_the_zones_of_the_project_stacks(path):
    spec = yaml.safe_load(path.read_text())["spec"]
    for stack in ("dev", "prod"):
        assert tenant_zone_issues(spec, config_of(stack).zones, f"stack {stack}") == []


def test_the_chart_notes_name_the_label_and_the_check():
    notes = (REPO / "helm" / "samu-operator" / "templates" / "NOTES.txt").read_text()
    assert f"kubectl get nodes -L {ZONE_LABEL}" in notes
    assert "samuctl tenant validate --stack prod examples/samu-30.yaml" in notes


def test_validate_with_the_stack_accepts_the_examples(capsys):
    code = main(
        ["tenant", "validate", "--stack", "prod", "--project-root", str(REPO), *map(str, EXAMPLES)]
    )
    assert code == 0, capsys.readouterr().err


def _tenant_with_zones(tmp_path: Path, zones: list[str]) -> Path:
    doc = yaml.safe_load((REPO / "helm/samu-operator/examples/samu-30.yaml").read_text())
    doc["spec"]["pbx"]["zones"] = zones
    doc["spec"]["failover"]["preferredZones"] = zones[:1]
    path = tmp_path / "samu-30.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_validate_says_a_tenant_whose_zones_match_no_node(tmp_path, capsys):
    path = _tenant_with_zones(tmp_path, ["a", "b", "c"])
    assert main(["tenant", "validate", str(path)]) == 0  # valid on its own...
    capsys.readouterr()
    code = main(["tenant", "validate", "--stack", "prod", "--project-root", str(REPO), str(path)])
    err = capsys.readouterr().err
    assert code == 1  # ... but not on stack prod's nodes
    assert f"{path}: spec.pbx.zones: no zone matches a node of stack prod" in err
    assert (
        f"{path}: spec.pbx.zones[0]: 'a' is not a zone of stack prod (its nodes' {ZONE_LABEL}"
        in err
    )
    assert f"{path}: spec.failover.preferredZones[0]:" in err
    assert "fr-par-1a" in err


def test_validate_names_one_stray_zone(tmp_path, capsys):
    path = _tenant_with_zones(tmp_path, ["fr-par-1a", "fr-par-2b"])
    code = main(["tenant", "validate", "--stack", "dev", "--project-root", str(REPO), str(path)])
    err = capsys.readouterr().err
    assert code == 1
    assert "spec.pbx.zones[1]: 'fr-par-2b'" in err
    assert "no zone matches" not in err


def test_validate_with_an_unknown_stack_exits_2(tmp_path, capsys):
    path = _tenant_with_zones(tmp_path, ["fr-par-1a", "fr-par-1b"])
    code = main(["tenant", "validate", "--stack", "nope", "--project-root", str(REPO), str(path)])
    assert code == 2
    assert "Pulumi.nope.yaml" in capsys.readouterr().err


def test_a_stack_tenant_on_zones_of_another_stack_is_refused_naming_the_key():
    from samu_infra.stackfile import ConfigError, parse_config
    from tests.infra.stackgen import PREFIX, stack_doc

    doc = stack_doc("dev")
    doc["config"][f"{PREFIX}tenants"][0]["pbx"]["zones"] = ["a", "b"]
    with pytest.raises(ConfigError) as err:
        parse_config(doc["config"], "dev", REPO)
    keys = {i.key for i in err.value.issues}
    assert f"{PREFIX}tenants[0].pbx.zones" in keys
    assert f"{PREFIX}tenants[0].pbx.zones[0]" in keys
