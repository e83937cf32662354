"""The samu-edge SIP Service as the Pulumi program releases it: NodePort on the fixed port the
SIP edge load balancer's members use, rendered by Helm with the program's own values."""

from typing import Any

import kubernetes_validate
import pytest

from samu_infra.edge import release_values
from samu_infra.stackfile import parse_config
from tests.helm.charts import EDGE_CHART, HelmError, helm, render
from tests.infra.stackgen import REPO, stack_doc

ADVERTISE = "192.0.2.10"  # the SIP edge LB's floating IP, as the program passes it
TLS = {"enabled": True, "secretName": "edge-tls"}


def _stack_values(stack: str) -> tuple[Any, dict[str, Any]]:
    cfg = parse_config(stack_doc(stack)["config"], stack, REPO)
    return cfg, release_values(cfg, ADVERTISE)


def _sip_service(values: dict[str, Any]) -> dict[str, Any]:
    services = render(EDGE_CHART, values).of_kind("Service")
    (sip,) = [s for s in services if s["metadata"]["name"].endswith("-sip")]
    return sip


def _kamailio(values: dict[str, Any]) -> dict[str, Any]:
    pod = render(EDGE_CHART, values).one("Deployment")["spec"]["template"]["spec"]
    return next(c for c in pod["containers"] if c["name"] == "kamailio")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_released_values_give_a_nodeport_service_on_the_lb_members_port(stack):
    cfg, values = _stack_values(stack)
    sip = _sip_service(values)
    kubernetes_validate.validate(sip, kubernetes_validate.latest_version(), strict=True)
    spec = sip["spec"]
    assert spec["type"] == "NodePort"
    # Local: a worker with no edge pod answers nothing on the node port, so the LB's
    # TLS-HELLO monitor takes it out; no second hop through another node.
    assert spec["externalTrafficPolicy"] == "Local"
    assert "loadBalancerSourceRanges" not in spec
    ports = {p["name"]: p for p in spec["ports"]}
    # The LB's members are declared on cfg.edge.sip_tls_node_port (tests/infra/test_sip_path.py).
    assert ports["sip-tls"]["nodePort"] == cfg.edge.sip_tls_node_port
    assert (ports["sip-tls"]["port"], ports["sip-tls"]["targetPort"]) == (5061, "sip-tls")
    assert ports["sip-tls"]["protocol"] == "TCP"


def test_kamailio_listens_on_5061_in_the_pod_and_advertises_the_lbs_address():
    _, values = _stack_values("dev")
    kamailio = _kamailio(values)
    ports = {p["name"]: p["containerPort"] for p in kamailio["ports"]}
    assert ports["sip-tls"] == 5061  # the Service's targetPort: the node port maps onto it
    args = kamailio["args"]
    defines = dict(a.partition("=")[::2] for a in args if a.startswith("EDGE_SIP_LISTEN_TLS="))
    # The carrier sees floating IP:5061 in Via/Record-Route, never a node or a node port.
    assert defines["EDGE_SIP_LISTEN_TLS"] == f"tls:$(POD_IP):5061 advertise {ADVERTISE}:5061"


def test_sip_tls_is_admitted_from_the_lbs_amphorae():
    cfg, values = _stack_values("dev")
    policy = render(EDGE_CHART, values).one("NetworkPolicy")
    (sip,) = [
        rule
        for rule in policy["spec"]["ingress"]
        if any(p["port"] == "sip-tls" for p in rule.get("ports", []))
    ]
    sources = {peer["ipBlock"]["cidr"] for peer in sip["from"]}
    # Octavia's TCP passthrough connects from its amphorae, inside the supernet.
    assert sources == {*cfg.network.carrier_cidrs, cfg.network.supernet}


def test_udp_and_tcp_node_ports_are_fixed_only_when_asked():
    base = {"sip": {"tls": TLS}, "service": {"type": "NodePort"}}
    fixed = {**base, "service": {"type": "NodePort", "nodePorts": {"sipTls": 30561}}}
    ports = {p["name"]: p for p in _sip_service(fixed)["spec"]["ports"]}
    assert ports["sip-tls"]["nodePort"] == 30561
    assert "nodePort" not in ports["sip-udp"] and "nodePort" not in ports["sip-tcp"]
    all_fixed = {
        **base,
        "service": {
            "type": "NodePort",
            "nodePorts": {"sipTls": 30561, "sipUdp": 30560, "sipTcp": 30560},
        },
    }
    ports = {p["name"]: p for p in _sip_service(all_fixed)["spec"]["ports"]}
    assert [ports[n]["nodePort"] for n in ("sip-udp", "sip-tcp", "sip-tls")] == [
        30560,
        30560,  # UDP and TCP may share a number; two TCP ports may not
        30561,
    ]


def test_node_ports_are_ignored_unless_the_service_is_nodeport():
    values = {"service": {"type": "LoadBalancer", "nodePorts": {"sipUdp": 30560}}}
    assert all("nodePort" not in p for p in _sip_service(values)["spec"]["ports"])
    cluster_ip = _sip_service({"service": {"type": "ClusterIP"}})["spec"]
    assert "externalTrafficPolicy" not in cluster_ip  # the API refuses it on ClusterIP


def test_nodeport_with_tls_needs_a_fixed_tls_node_port():
    with pytest.raises(HelmError, match=r"service\.nodePorts\.sipTls is required"):
        helm("render", EDGE_CHART, {"sip": {"tls": TLS}, "service": {"type": "NodePort"}})


def test_tls_and_tcp_cannot_share_a_node_port():
    values = {
        "sip": {"tls": TLS},
        "service": {"type": "NodePort", "nodePorts": {"sipTls": 30561, "sipTcp": 30561}},
    }
    with pytest.raises(HelmError, match=r"sipTls and service\.nodePorts\.sipTcp"):
        helm("render", EDGE_CHART, values)


def test_notes_send_the_carrier_to_the_floating_ip_when_released_behind_the_stacks_lb():
    cfg, values = _stack_values("prod")
    notes = " ".join(render(EDGE_CHART, values).notes.split())
    assert (
        f"floating IP of the stack's SIP edge load balancer ({ADVERTISE}), port 5061 over TLS"
        in notes
    )
    assert "<cluster>SipEdgeAddress" in notes
    assert f"node port {cfg.edge.sip_tls_node_port}" in notes
    assert "get service" not in notes  # the NodePort Service's address is no carrier's target
    plain = " ".join(render(EDGE_CHART, {"sip": {"tls": TLS}}).notes.split())
    assert "SIP Service's address (type LoadBalancer" in plain and "port 5061 over TLS" in plain
    assert "-sip" in plain and "Set sip.advertise" in plain
