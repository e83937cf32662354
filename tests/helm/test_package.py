"""`helm package` of both charts: what ships (and what .helmignore keeps out)."""

import tarfile

import pytest

from tests.helm.charts import EDGE_CHART, OPERATOR_CHART, helm


def _members(chart, tmp_path) -> set[str]:
    archive = helm("package", chart, destination=str(tmp_path))
    with tarfile.open(archive) as tar:
        return {m.name.split("/", 1)[1] for m in tar.getmembers() if m.isfile()}


def test_operator_package_carries_crd_alerts_dashboard_and_examples(tmp_path):
    members = _members(OPERATOR_CHART, tmp_path)
    for needed in (
        "Chart.yaml",
        "values.yaml",
        "values.schema.json",
        "crds/samutenants.samu-platform.io.yaml",
        "alerts/samu-operator.rules.yaml",
        "dashboards/samu-overview.json",
        "examples/samu-30.yaml",
        "templates/NOTES.txt",
    ):
        assert needed in members, needed
    assert not any("__pycache__" in m for m in members)


def test_edge_package_carries_the_kamailio_config_without_its_docs(tmp_path):
    members = _members(EDGE_CHART, tmp_path)
    assert "files/kamailio.cfg" in members and "values.schema.json" in members
    docs = [p.name for p in (EDGE_CHART / "files").glob("*.md")]
    if not docs:
        pytest.skip("files/ holds no documentation to keep out")
    assert not {f"files/{name}" for name in docs} & members
