"""The CRD is generated from the model, committed up to date, and acceptable to Kubernetes."""

import copy
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from samu_operator.model.crd import crd_manifest, render_crd_yaml, structural_problems
from tests.conftest import REPO, example_paths, load_samu30

CRD_FILE = REPO / "helm" / "samu-operator" / "crds" / "samutenants.samu-platform.io.yaml"


def _schema() -> dict[str, Any]:
    return crd_manifest()["spec"]["versions"][0]["schema"]["openAPIV3Schema"]


def _api_server_view(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema as plain JSON Schema (drop x-kubernetes-* keys jsonschema does not know)."""
    if isinstance(schema, dict):
        return {k: _api_server_view(v) for k, v in schema.items() if not k.startswith("x-")}
    if isinstance(schema, list):
        return [_api_server_view(v) for v in schema]
    return schema


def test_committed_crd_equals_what_the_model_generates():
    assert CRD_FILE.read_text(encoding="utf-8") == render_crd_yaml(), (
        "helm/samu-operator/crds is out of date: run 'samuctl crd generate'"
    )


def test_crd_validates_against_kubernetes_own_schema():
    kubernetes_validate.validate(crd_manifest(), kubernetes_validate.latest_version(), strict=True)


def test_a_broken_crd_is_caught_by_the_kubernetes_schema():
    broken = crd_manifest()
    broken["spec"]["scope"] = 42
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, kubernetes_validate.latest_version(), strict=True)


def test_schema_is_structural():
    assert structural_problems(_schema()) == []


def test_structural_check_finds_what_the_api_server_would_refuse():
    schema = copy.deepcopy(_schema())
    schema["properties"]["spec"]["properties"]["numbers"]["uniqueItems"] = True
    del schema["properties"]["spec"]["properties"]["department"]["type"]
    problems = structural_problems(schema)
    assert any("/spec/numbers" in p and "uniqueItems" in p for p in problems)
    assert any("/spec/department: no type" in p for p in problems)


def test_names_scope_and_columns():
    crd = crd_manifest()
    spec = crd["spec"]
    assert crd["metadata"]["name"] == "samutenants.samu-platform.io"
    assert spec["scope"] == "Cluster"
    assert spec["names"]["shortNames"] == ["samu"]
    version = spec["versions"][0]
    assert version["name"] == "v1alpha1"
    assert version["subresources"] == {"status": {}}
    columns = [c["name"] for c in version["additionalPrinterColumns"]]
    assert columns == ["Département", "Phase", "Active zone", "Epoch", "Age"]


def test_lists_of_zones_and_queues_refuse_duplicates_at_the_api_server():
    spec = _schema()["properties"]["spec"]["properties"]
    assert spec["pbx"]["properties"]["zones"]["x-kubernetes-list-type"] == "set"
    assert spec["queues"]["x-kubernetes-list-type"] == "map"
    assert spec["queues"]["x-kubernetes-list-map-keys"] == ["name"]


@pytest.mark.parametrize("path", example_paths(), ids=lambda p: p.name)
def test_examples_pass_the_crd_schema(path):
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    jsonschema.validate(doc, _api_server_view(_schema()))


@pytest.mark.parametrize(
    ("where", "value"),
    [
        (("department",), "20"),
        (("department",), "2a"),
        (("numbers",), ["0466000015"]),
        (("pbx", "zones"), ["a"]),
        (("pbx", "image"), "pbx"),
        (("queues",), []),
        (("recording",), {"replicas": 1}),
        (("capacity",), {"agents": 0, "maxConcurrentCalls": 1}),
        (("ivr",), {"vitalDistressDigit": "12"}),
    ],
)
def test_what_the_model_refuses_the_crd_refuses_too(where, value):
    """The API server (schema) and the operator (pydantic) must agree on field-level rules."""
    doc = load_samu30()
    node = doc["spec"]
    for key in where[:-1]:
        node = node[key]
    node[where[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(doc, _api_server_view(_schema()))
