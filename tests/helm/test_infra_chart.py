"""The Pulumi program installs these charts (samu-operator, samu-edge): their paths exist and
every stack's values pass them."""

import importlib.util
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.helm.charts import EDGE_CHART, OPERATOR_CHART, REPO, helm, load_schema, load_values

STACKS = sorted((REPO / "stacks").glob("Pulumi.*.yaml"))
OPERATOR_KEY = "samu-platform:operator"
#: An address as the SIP edge load balancer's floating IP would resolve (documentation range).
SAMPLE_ADVERTISE = "203.0.113.10"

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("samu_infra.config") is None or not STACKS,
    reason="the Pulumi program (infra/samu_infra/config.py, stacks/) has not landed",
)


def _schema_errors(chart: Path, values: dict[str, Any]) -> list[str]:
    """What the chart's values.schema.json says of ``values`` applied over its defaults the
    way Helm applies them (samu_infra.edge.merge: maps merge deeply, the rest replaces)."""
    from samu_infra.edge import merge

    merged = merge(load_values(chart), values)
    return [e.message for e in jsonschema.Draft7Validator(load_schema(chart)).iter_errors(merged)]


def _operator_section(stack: Path) -> dict[str, Any]:
    config = yaml.safe_load(stack.read_text(encoding="utf-8"))["config"]
    return config[OPERATOR_KEY]


def test_default_chart_path_of_the_program_is_this_chart():
    from samu_infra.config import OperatorRelease

    chart = REPO / OperatorRelease.model_fields["chart"].default
    assert chart.resolve() == OPERATOR_CHART.resolve()
    assert yaml.safe_load((chart / "Chart.yaml").read_text())["name"] == "samu-operator"


@pytest.mark.parametrize("stack", STACKS, ids=lambda p: p.name)
def test_stack_chart_path_exists_and_its_values_pass_the_chart(stack):
    section = _operator_section(stack)
    chart = REPO / section.get("chart", "helm/samu-operator")
    assert (chart / "Chart.yaml").exists(), f"{stack.name}: no chart at {chart}"
    values = section.get("values", {})
    errors = _schema_errors(chart, values)
    assert errors == [], f"{stack.name}: {errors}"
    # And Helm itself renders the release with them.
    assert helm("render", chart, values)["manifests"]


def test_default_edge_chart_path_of_the_program_is_the_edge_chart():
    from samu_infra.config import EdgeRelease

    chart = REPO / EdgeRelease.model_fields["chart"].default
    assert chart.resolve() == EDGE_CHART.resolve()
    assert yaml.safe_load((chart / "Chart.yaml").read_text())["name"] == "samu-edge"


@pytest.mark.parametrize("stack", STACKS, ids=lambda p: p.name)
def test_stack_edge_values_with_the_derived_ones_pass_the_edge_chart(stack):
    from samu_infra.edge import release_values
    from samu_infra.stackfile import load_stack_file

    cfg = load_stack_file(stack, REPO)
    chart = REPO / cfg.edge.chart
    assert chart.resolve() == EDGE_CHART.resolve(), f"{stack.name}: edge chart is {chart}"
    values = release_values(cfg, SAMPLE_ADVERTISE)
    errors = _schema_errors(chart, values)
    assert errors == [], f"{stack.name}: {errors}"
    # Helm renders it: SIP-TLS on, advertising the load balancer, carrier ranges applied.
    manifests = helm("render", chart, values, namespace=cfg.edge.namespace)["manifests"]
    rendered = "\n".join(manifests.values())
    notes = manifests["samu-edge/templates/NOTES.txt"]
    assert "installed in namespace samu-edge" in notes and "WARNING" not in notes
    assert SAMPLE_ADVERTISE in rendered
    for cidr in cfg.network.carrier_cidrs:
        assert cidr in rendered
    assert cfg.edge.values["sip"]["tls"]["secretName"] in rendered
