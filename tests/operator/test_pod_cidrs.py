"""The PBX identifies the edge's pods by the cluster's pod networks: the operator's setting
(SAMU_POD_CIDRS, from the operator chart's cluster.podCidrs) reaches the rendered PJSIP
identify; a bad value is refused naming the variable and the fix."""

import kopf
import pytest

from samu_operator.core import pbx_contract as contract
from samu_operator.handlers import settings as operator_settings
from samu_operator.handlers import state
from samu_operator.model import validate_tenant
from tests.helm.charts import OPERATOR_CHART, load_values, render
from tests.operator.harness import example


def _pjsip(objects: list[dict]) -> str:
    (cm,) = [o for o in objects if o["kind"] == "ConfigMap" and "pjsip.conf" in o["data"]]
    return cm["data"]["pjsip.conf"]


def _identify(pjsip: str) -> list[str]:
    section = pjsip.split("[edge-identify]", 1)[1].split("\n\n", 1)[0]
    return [
        line.split("=", 1)[1].strip() for line in section.splitlines() if line.startswith("match")
    ]


def test_the_operators_pod_networks_reach_the_pbx_identify_of_the_edge(monkeypatch):
    tenant = validate_tenant(example("samu-30"))
    body = {"metadata": {"uid": "u-1", "generation": 7}, "status": {}}
    monkeypatch.setenv(contract.POD_CIDRS_ENV, "10.44.0.0/16, fd00:42::/56")
    state._cache.clear()
    assert _identify(_pjsip(state.desired_for(tenant, body))) == ["10.44.0.0/16", "fd00:42::/56"]
    monkeypatch.delenv(contract.POD_CIDRS_ENV)
    state._cache.clear()
    assert _identify(_pjsip(state.desired_for(tenant, body))) == list(contract.EDGE_SOURCE_CIDRS)
    state._cache.clear()


@pytest.mark.parametrize("text", ["10.44.0.1/16", "pods", "10.44.0.0/16,", "0.0.0.0/0"])
def test_a_bad_pod_network_is_refused_naming_the_variable(text, monkeypatch):
    with pytest.raises(ValueError, match=contract.POD_CIDRS_ENV) as info:
        contract.pod_cidrs(text)
    assert "cluster-cidr" in str(info.value)
    # the operator does not start with it
    monkeypatch.setenv(contract.POD_CIDRS_ENV, text)
    with pytest.raises(kopf.PermanentError, match=contract.POD_CIDRS_ENV):
        operator_settings.configure(settings=kopf.OperatorSettings())


def test_the_operator_chart_sets_the_variable_the_operator_reads():
    values = {"cluster": {"podCidrs": ["10.44.0.0/16", "10.45.0.0/16"]}}
    pod = render(OPERATOR_CHART, values).one("Deployment")["spec"]["template"]["spec"]
    (operator,) = [c for c in pod["containers"] if c["name"] == "operator"]
    env = {e["name"]: e.get("value") for e in operator["env"]}
    assert contract.pod_cidrs(env[contract.POD_CIDRS_ENV]) == ("10.44.0.0/16", "10.45.0.0/16")
    # the chart's default is the operator's own (RKE2's cluster-cidr)
    default = tuple(load_values(OPERATOR_CHART)["cluster"]["podCidrs"])
    assert default == contract.EDGE_SOURCE_CIDRS
