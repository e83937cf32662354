"""The samu-edge chart's side of the positions' registrar: the edges find each other (DMQ over
a headless Service), only they reach each other's DMQ port, the centres' sites reach SIP, and
the registrar's bounds are checked."""

import pytest

from tests.helm.charts import EDGE_CHART, NAMESPACE, HelmError, helm, render, selects
from tests.helm.test_edge_chart import _container, _defines

SITES = ["10.30.0.0/16", "10.120.0.0/16"]
CARRIER = ["198.51.100.0/26"]


def _pod(values=None) -> dict:
    return render(EDGE_CHART, values).one("Deployment")["spec"]["template"]


def test_edges_find_their_peers_through_a_headless_service_of_every_edge_pod():
    rendered = render(EDGE_CHART)
    pod = _pod()
    services = {s["metadata"]["name"]: s for s in rendered.of_kind("Service")}
    peers = next(s for name, s in services.items() if name.endswith("-peers"))
    assert peers["spec"]["clusterIP"] == "None"
    # an edge joins the others before it is ready (Kamailio's readiness is its HTTP port)
    assert peers["spec"]["publishNotReadyAddresses"] is True
    assert selects(peers["spec"]["selector"], pod["metadata"]["labels"])
    kamailio = _container(pod["spec"], "kamailio")
    ports = {p["name"]: p for p in kamailio["ports"]}
    (port,) = peers["spec"]["ports"]
    assert (port["targetPort"], port["protocol"]) == ("dmq", "UDP")
    assert ports["dmq"]["containerPort"] == port["port"] == 5090
    defines = _defines(kamailio["args"])
    host = f"{peers['metadata']['name']}.{NAMESPACE}.svc.cluster.local"
    assert "WITH_DMQ" in defines
    assert defines["EDGE_DMQ_PEERS"] == f'"sip:{host}:5090"'
    assert defines["EDGE_DMQ_LISTEN"] == "udp:$(POD_IP):5090"
    assert defines["EDGE_DMQ_ADDRESS"] == '"sip:$(POD_IP):5090"'
    assert defines["EDGE_DMQ_PORT"] == "5090"
    # the Path of a registration names this pod's own UDP socket, where its peers relay calls
    assert defines["EDGE_NODE_ADDR"] == '"$(POD_IP):5060"'
    assert defines["EDGE_SIP_LISTEN"].startswith("udp:$(POD_IP):5060")
    # the edge waits (bounded) for that name before it starts, so that it joins at once
    (wait,) = [c for c in pod["spec"]["initContainers"] if c["name"] == "wait-peers"]
    script = wait["command"][-1]
    assert host in script and "$$(seq 30)" in script  # $$: not a Kubernetes $(VAR)
    assert script.rstrip().endswith("exit 0")  # bounded: past it the edge starts anyway


def _rules(policy: dict, direction: str, port) -> list[dict]:
    return [
        r
        for r in policy["spec"][direction]
        if any(p.get("port") == port for p in r.get("ports", []))
    ]


def test_only_the_edge_pods_reach_each_others_dmq_port():
    values = {"networkPolicy": {"carrierCidrs": CARRIER}, "positions": {"siteCidrs": SITES}}
    rendered = render(EDGE_CHART, values)
    policy = rendered.one("NetworkPolicy")
    labels = _pod(values)["metadata"]["labels"]
    (ingress,) = _rules(policy, "ingress", "dmq")
    (peer,) = ingress["from"]
    assert set(peer) == {"podSelector"} and selects(peer["podSelector"]["matchLabels"], labels)
    # ... and calls relayed to the edge a phone registered at (UDP SIP, same peers)
    assert {(p["port"], p["protocol"]) for p in ingress["ports"]} == {
        ("dmq", "UDP"),
        ("sip-udp", "UDP"),
    }
    (egress,) = _rules(policy, "egress", 5090)
    assert selects(egress["to"][0]["podSelector"]["matchLabels"], labels)
    assert {(p["port"], p["protocol"]) for p in egress["ports"]} == {(5090, "UDP"), (5060, "UDP")}


def test_the_centres_sites_reach_sip_next_to_the_carrier():
    values = {
        "networkPolicy": {"carrierCidrs": CARRIER},
        "positions": {"siteCidrs": SITES},
        "service": {"loadBalancerSourceRanges": CARRIER},
    }
    rendered = render(EDGE_CHART, values)
    policy = rendered.one("NetworkPolicy")
    sip = [r for r in _rules(policy, "ingress", "sip-tcp") if "ipBlock" in str(r.get("from"))]
    (rule,) = sip
    assert [b["ipBlock"]["cidr"] for b in rule["from"]] == CARRIER + SITES
    lb = next(s for s in rendered.of_kind("Service") if s["metadata"]["name"].endswith("-sip"))
    assert lb["spec"]["loadBalancerSourceRanges"] == CARRIER + SITES
    # no site ranges: the carrier's only, as before
    plain = render(EDGE_CHART, {"service": {"loadBalancerSourceRanges": CARRIER}})
    lb = next(s for s in plain.of_kind("Service") if s["metadata"]["name"].endswith("-sip"))
    assert lb["spec"]["loadBalancerSourceRanges"] == CARRIER


def test_registration_bounds_reach_kamailio():
    values = {"positions": {"registration": {"minExpiresSeconds": 20, "maxExpiresSeconds": 600}}}
    defines = _defines(_container(_pod(values)["spec"], "kamailio")["args"])
    assert (defines["EDGE_REG_MIN_EXPIRES"], defines["EDGE_REG_MAX_EXPIRES"]) == ("20", "600")
    assert defines["EDGE_REG_DEFAULT_EXPIRES"] == "120"


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"positions": {"registration": {"minExpiresSeconds": 200}}}, r"positions\.registration"),
        ({"positions": {"registration": {"maxExpiresSeconds": 60}}}, r"positions\.registration"),
        ({"dmq": {"port": 5060}}, r"dmq\.port"),
        ({"positions": {"siteCidrs": ["10.30.0.0"]}}, r"siteCidrs"),
        ({"positions": {"siteCidrs": ["2001:db8::/32"]}}, r"siteCidrs"),
        ({"dmq": {"clusterDomain": "Cluster Local"}}, r"clusterDomain"),
    ],
)
def test_bad_values_are_refused_by_name(values, says):
    with pytest.raises(HelmError, match=says):
        helm("render", EDGE_CHART, values)
