"""The tenant's NetworkPolicies: what may reach its PBX, and what its PBX may reach.

Default deny; SIP/RTP only from the edge; metrics only from monitoring; the tenant's own pods
may talk to each other (recording copies between zones); DNS out; HTTPS and the API server's
port out (the sidecars: the recording store, the call-back ledger). No rule ever names another
tenant's Namespace, so nothing comes from another SAMU.
"""

from samu_operator.core import labels
from samu_operator.core.meta import METRICS_PORT, RTP_PORTS, SIP_PORT, Obj, object_meta
from samu_operator.core.pbx_pod import SHIPPER_METRICS_PORT

EDGE_NAMESPACE = "samu-edge"
MONITORING_NAMESPACE = "monitoring"
#: HTTPS (the Swift proxy, the API server's Service) and the API server's own port.
API_AND_STORE_PORTS = (443, 6443)


def _policy(tenant: str, name: str, spec: Obj) -> Obj:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": object_meta(tenant, name),
        "spec": spec,
    }


def _from_namespace(name: str) -> Obj:
    return {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": name}}}


def network_policies(tenant: str) -> list[Obj]:
    """The tenant's NetworkPolicies (see the module's docstring)."""
    pbx = {"matchLabels": {labels.TENANT: tenant, labels.COMPONENT: labels.PBX}}
    own = {"podSelector": {"matchLabels": {labels.TENANT: tenant}}}
    sip = [{"protocol": p, "port": SIP_PORT} for p in ("UDP", "TCP")]
    rtp = {"protocol": "UDP", "port": RTP_PORTS[0], "endPort": RTP_PORTS[1]}
    dns = [{"protocol": p, "port": 53} for p in ("UDP", "TCP")]
    return [
        _policy(tenant, "default-deny", {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        _policy(
            tenant,
            "allow-sip-from-edge",
            {
                "podSelector": pbx,
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [_from_namespace(EDGE_NAMESPACE)], "ports": [*sip, rtp]}],
            },
        ),
        _policy(
            tenant,
            "allow-metrics-from-monitoring",
            {
                "podSelector": pbx,
                "policyTypes": ["Ingress"],
                "ingress": [
                    {
                        "from": [_from_namespace(MONITORING_NAMESPACE)],
                        # Asterisk's and its recording shipper's
                        "ports": [
                            {"protocol": "TCP", "port": port}
                            for port in (METRICS_PORT, SHIPPER_METRICS_PORT)
                        ],
                    }
                ],
            },
        ),
        _policy(
            tenant,
            "allow-within-tenant",
            {
                "podSelector": {"matchLabels": {labels.TENANT: tenant}},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [own]}],
                "egress": [{"to": [own]}],
            },
        ),
        _policy(
            tenant,
            "allow-egress-edge-and-dns",
            {
                "podSelector": pbx,
                "policyTypes": ["Egress"],
                "egress": [
                    {"to": [_from_namespace(EDGE_NAMESPACE)], "ports": [*sip, rtp]},
                    {"to": [_from_namespace("kube-system")], "ports": dns},
                    # The PBX pod's sidecars: the recording store (Swift, HTTPS) and the
                    # API server (the call-back ledger), outside the pod network.
                    {"ports": [{"protocol": "TCP", "port": p} for p in API_AND_STORE_PORTS]},
                ],
            },
        ),
    ]
