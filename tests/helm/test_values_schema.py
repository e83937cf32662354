"""values.yaml against values.schema.json: defaults pass, bad values fail at the right path.

Checked twice: with jsonschema here (fast, exact error paths) and by Helm itself (its Go
schema validator, which is what `helm install` runs), so a schema that only Python accepts
(e.g. a regex Go's RE2 cannot compile) fails too.
"""

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from tests.helm.charts import (
    EDGE_CHART,
    OPERATOR_CHART,
    HelmError,
    helm,
    load_schema,
    load_values,
)


def _errors(chart, values: dict[str, Any]) -> list[jsonschema.ValidationError]:
    validator = jsonschema.Draft7Validator(load_schema(chart))
    return sorted(validator.iter_errors(values), key=lambda e: list(e.absolute_path))


def _with(chart, path: str, value: Any) -> dict[str, Any]:
    """The chart's default values with one key (dotted path) set; None deletes it."""
    values = copy.deepcopy(load_values(chart))
    *parents, leaf = path.split(".")
    node = values
    for key in parents:
        node = node[key]
    if value is None:
        del node[leaf]
    else:
        node[leaf] = value
    return values


@pytest.mark.parametrize("chart", [OPERATOR_CHART, EDGE_CHART], ids=["operator", "edge"])
def test_schema_is_draft7_and_defaults_validate(chart):
    schema = load_schema(chart)
    jsonschema.Draft7Validator.check_schema(schema)
    assert _errors(chart, load_values(chart)) == []
    assert schema.get("additionalProperties") is False, "unknown top-level keys must be refused"


def _rejections(chart: Path, key: str, value: Any) -> list[tuple[str, str]]:
    """(dotted path, JSON-schema keyword) of each error for the defaults with ``key`` set."""
    errors = _errors(chart, _with(chart, key, value))
    return [(".".join(map(str, e.absolute_path)), e.validator) for e in errors]


OPERATOR_BAD = [
    ("replicaCount", 1, "replicaCount", "minimum"),
    ("image.tag", "latest", "image.tag", "not"),
    ("image.digest", "sha256:1234", "image.digest", "pattern"),
    ("image.pullPolicy", "Sometimes", "image.pullPolicy", "enum"),
    ("runAsUser", 0, "runAsUser", "minimum"),
    ("operator.logFormat", "xml", "operator.logFormat", "enum"),
    ("operator.module", "samu operator", "operator.module", "pattern"),
    ("health.port", 70000, "health.port", "maximum"),
    ("metrics.port", "9090", "metrics.port", "type"),
    ("serviceMonitor.interval", "15", "serviceMonitor.interval", "pattern"),
    ("topologySpread.whenUnsatisfiable", "Never", "topologySpread.whenUnsatisfiable", "enum"),
    ("networkPolicy.apiServer.cidrs", ["10.0.0.1"], "networkPolicy.apiServer.cidrs.0", "pattern"),
    ("podDisruptionBudget.minAvailable", 0, "podDisruptionBudget.minAvailable", "minimum"),
    ("prometheusRule.enabled", "yes", "prometheusRule.enabled", "type"),
    ("resources.limits.memory", "lots", "resources.limits.memory", "pattern"),
    ("replicas", 3, "", "additionalProperties"),
    ("image.repository", None, "image", "required"),
]


@pytest.mark.parametrize(
    ("key", "value", "path", "validator"), OPERATOR_BAD, ids=[c[0] for c in OPERATOR_BAD]
)
def test_operator_bad_values_are_rejected_at_their_path(key, value, path, validator):
    assert _rejections(OPERATOR_CHART, key, value) == [(path, validator)]


def test_unknown_key_error_names_the_key():
    (error,) = _errors(OPERATOR_CHART, _with(OPERATOR_CHART, "replicas", 3))
    assert "'replicas'" in error.message


@pytest.mark.parametrize(
    ("key", "value", "pointer"),
    [
        ("replicaCount", 1, "/replicaCount"),
        ("image.tag", "latest", "/image/tag"),
        ("networkPolicy.apiServer.cidrs", ["10.0.0.1"], "/networkPolicy/apiServer/cidrs/0"),
        ("replicas", 3, "replicas"),
    ],
)
def test_helm_itself_refuses_bad_operator_values(key, value, pointer):
    with pytest.raises(HelmError, match="samu-operator") as refused:
        helm("render", OPERATOR_CHART, _with(OPERATOR_CHART, key, value))
    assert pointer in str(refused.value)


EDGE_BAD = [
    ("replicaCount", 1, "replicaCount", "minimum"),
    ("image.tag", "latest", "image.tag", "not"),
    ("sip.tls.enabled", "true", "sip.tls.enabled", "type"),
    ("service.type", "ExternalName", "service.type", "enum"),
    ("service.nodePorts", {"sipTls": 29999}, "service.nodePorts.sipTls", "minimum"),
    ("service.nodePorts", {"sipTls": 32768}, "service.nodePorts.sipTls", "maximum"),
    ("service.nodePorts", {"sipUdp": "30560"}, "service.nodePorts.sipUdp", "type"),
    ("service.nodePorts", {"sipTcp": 5060}, "service.nodePorts.sipTcp", "minimum"),
    ("service.nodePorts", {"sip": 30561}, "service.nodePorts", "additionalProperties"),
    ("kamailio.sharedMemoryMB", 16, "kamailio.sharedMemoryMB", "minimum"),
    ("runAsUser", 0, "runAsUser", "minimum"),
    ("sip.advertise", "sip.example.org", "sip.advertise", "pattern"),
    ("unknown", 1, "", "additionalProperties"),
    ("media.rtpPorts", {"min": 80, "max": 40000}, "media.rtpPorts.min", "minimum"),
    ("media.rtpPorts", {"min": 30000}, "media.rtpPorts", "required"),
    ("media.network.mode", "nodePort", "media.network.mode", "enum"),
    ("media.network.advertise", "rtp.example.org", "media.network.advertise", "pattern"),
    (
        "media.control",
        {"timeoutMs": 100, "retries": 0, "disableSeconds": 5},
        "media.control.retries",
        "minimum",
    ),
    ("recordings.shipper.command", "python", "recordings.shipper.command", "type"),
]


@pytest.mark.parametrize(
    ("key", "value", "path", "validator"), EDGE_BAD, ids=[c[0] for c in EDGE_BAD]
)
def test_edge_bad_values_are_rejected_at_their_path(key, value, path, validator):
    assert _rejections(EDGE_CHART, key, value) == [(path, validator)]


def test_helm_itself_refuses_bad_edge_values():
    with pytest.raises(HelmError, match="/replicaCount"):
        helm("render", EDGE_CHART, _with(EDGE_CHART, "replicaCount", 1))
    with pytest.raises(HelmError, match="/service/nodePorts/sipTls"):
        helm("render", EDGE_CHART, _with(EDGE_CHART, "service.nodePorts", {"sipTls": 1024}))
