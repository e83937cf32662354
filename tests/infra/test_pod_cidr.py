"""The stack's pod network reaches the PBX: network.podCidr -> the operator release's values
(the Pulumi program, under mocks) -> the operator's environment (the chart, rendered by
Helm) -> the operator's setting -> the PJSIP identify of the edge in every tenant's PBX."""

from samu_infra.offline import run_offline
from samu_infra.stackfile import parse_config
from samu_operator.core import asterisk
from samu_operator.core import pbx_contract as contract
from samu_operator.model import validate_tenant
from tests.helm.charts import OPERATOR_CHART, render
from tests.infra.stackgen import PREFIX, REPO, stack_doc
from tests.operator.harness import example


def test_the_stacks_pod_network_is_where_the_pbx_takes_the_edges_requests_from():
    doc = stack_doc("dev")
    doc["config"][f"{PREFIX}network"]["podCidr"] = "10.44.0.0/16"
    run = run_offline(parse_config(doc["config"], "dev"), "dev", REPO)
    (release,) = [r for r in run.resources if r.kind == "Release" and r.name == "samu-operator"]
    values = release.inputs["values"]
    assert values["cluster"]["podCidrs"] == ["10.44.0.0/16"]
    pod = render(OPERATOR_CHART, values).one("Deployment")["spec"]["template"]["spec"]
    (operator,) = [c for c in pod["containers"] if c["name"] == "operator"]
    env = {e["name"]: e.get("value") for e in operator["env"]}
    cidrs = contract.pod_cidrs(env[contract.POD_CIDRS_ENV])
    pjsip = asterisk.pjsip_conf("samu-30", validate_tenant(example("samu-30")).spec, cidrs)
    assert "match = 10.44.0.0/16\n" in pjsip
    assert "10.42.0.0/16" not in pjsip  # RKE2's default, which this cluster does not use
