"""Guardrail: the carrier's SIP-TLS calls can reach Kamailio through the declared path.

The SIP edge load balancer (listener 5061) forwards to every worker on a node port; that
port must be the one the samu-edge release's NodePort Service fixes (with
``externalTrafficPolicy: Local``, so the LB's health monitor keeps only workers running an
edge), and a security group rule must admit it. A mismatch loses every call without any
error at deploy time, hence a rule over the declared resources rather than only a test.
Pure (no pulumi import), like guardrails.py.
"""

from typing import Any

from samu_infra.inventory import Inventory


def _edge_services(inv: Inventory) -> list[tuple[str, dict[str, Any]]]:
    """(release name, its ``service`` values) of every release of the samu-edge chart."""
    out = []
    for r in inv.resources:
        values = r.inputs.get("values")
        if r.kind == "Release" and isinstance(values, dict) and "sip" in values:
            out.append((r.name, values.get("service") or {}))
    return out


def sip_edge_path(inv: Inventory) -> list[str]:
    """Carrier SIP-TLS reaches Kamailio: LB members' port = the edge's NodePort, admitted."""
    out = []
    services = _edge_services(inv)
    for lst in inv.of_kind("Listener"):
        if lst.marks().get("samu-traffic") != "sip-tls":
            continue
        pools = {p.id for p in inv.of_kind("Pool") if p.inputs.get("listenerId") == lst.id}
        ports = {
            int(m.inputs.get("protocolPort") or 0)
            for m in inv.of_kind("Member")
            if m.inputs.get("poolId") in pools
        }
        if not ports:
            out.append(f"SIP-TLS listener {lst.name} has no members: calls would go nowhere")
        for port in sorted(ports):
            served = [
                name
                for name, svc in services
                if svc.get("type") == "NodePort"
                and (svc.get("nodePorts") or {}).get("sipTls") == port
                and svc.get("externalTrafficPolicy") == "Local"
            ]
            if not served:
                out.append(
                    f"SIP-TLS listener {lst.name} forwards to node port {port}, but no samu-edge "
                    "release serves it (service.type NodePort, nodePorts.sipTls, "
                    "externalTrafficPolicy Local): set both from edge.sipTlsNodePort"
                )
            admitted = any(
                rule.inputs.get("direction") == "ingress"
                and rule.inputs.get("protocol") in ("tcp", None, "")
                and rule.inputs.get("remoteIpPrefix")
                and int(rule.inputs.get("portRangeMin") or 0)
                <= port
                <= int(rule.inputs.get("portRangeMax") or 0)
                for rule in inv.of_kind("SecGroupRule")
            )
            if not admitted:
                out.append(
                    f"no security group rule admits node port {port} (SIP-TLS listener "
                    f"{lst.name}'s members) from the load balancer's subnets"
                )
    for name, svc in services:
        if svc.get("type") == "LoadBalancer":
            out.append(
                f"release {name} asks a cloud controller for a second SIP load balancer, "
                "outside the tenancy's security groups: use NodePort behind the SIP edge LB"
            )
    return out
