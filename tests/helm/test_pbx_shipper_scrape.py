"""Every PBX pod's recording shipper is scraped: the operator chart's PodMonitor selects the
pods the operator renders, names the shipper's port, and the tenant's NetworkPolicy lets the
monitoring namespace reach it (the edge's shipper: its chart's ServiceMonitor,
tests/helm/test_edge_media_chart.py)."""

from samu_operator.core import desired, netpol
from samu_operator.model import validate_tenant
from tests.helm.charts import OPERATOR_CHART, render
from tests.operator.harness import example

ON = {"serviceMonitor": {"enabled": True}}


def _pbx_pod_template() -> dict:
    objs = desired.desired_objects(validate_tenant(example("samu-30")))
    [first, *_] = [o for o in objs if o["kind"] == "StatefulSet"]
    return first["spec"]["template"]


def test_the_podmonitor_scrapes_the_shipper_of_every_pbx_pod():
    [monitor] = render(OPERATOR_CHART, ON).of_kind("PodMonitor")
    spec = monitor["spec"]
    assert spec["namespaceSelector"] == {"any": True}  # one namespace per tenant
    template = _pbx_pod_template()
    pod_labels = template["metadata"]["labels"]
    assert spec["selector"]["matchLabels"].items() <= pod_labels.items()
    ports = {
        p["name"]: p["containerPort"]
        for c in template["spec"]["containers"]
        for p in c.get("ports", [])
    }
    [endpoint] = spec["podMetricsEndpoints"]
    assert ports[endpoint["port"]] == 9102
    shipper = next(c for c in template["spec"]["containers"] if c["name"] == "recording-shipper")
    env = {e["name"]: e["value"] for e in shipper["env"]}
    assert int(env["SAMU_SHIPPER_METRICS_PORT"]) == ports[endpoint["port"]]


def test_the_tenants_network_policy_admits_the_scrape_from_monitoring():
    objs = desired.desired_objects(validate_tenant(example("samu-30")))
    [policy] = [o for o in objs if o["metadata"]["name"] == "allow-metrics-from-monitoring"]
    [rule] = policy["spec"]["ingress"]
    assert rule["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": netpol.MONITORING_NAMESPACE
    }
    assert 9102 in {p["port"] for p in rule["ports"]}


def test_the_podmonitor_can_be_left_out():
    values = {"serviceMonitor": {"enabled": True, "pbxShippers": False}}
    assert not render(OPERATOR_CHART, values).of_kind("PodMonitor")
    assert not render(OPERATOR_CHART).of_kind("PodMonitor")
