"""Guardrails: the carrier's SIP-TLS calls and their media reach the edge through the declared path.

Media: every edge node has a floating IP (1:1 NAT to the node, where rtpengine runs on the
host network), its node labels that address for rtpengine to advertise, and the nodes'
media group admits the RTP range from every carrier range and from nothing else.

The SIP edge load balancer (listener 5061) forwards to every worker on a node port; that
port must be the one the samu-edge release's NodePort Service fixes (with
``externalTrafficPolicy: Local``, so the LB's health monitor keeps only workers running an
edge), and a security group rule must admit it. A mismatch loses every call without any
error at deploy time, hence a rule over the declared resources rather than only a test.
Pure (no pulumi import), like guardrails.py.
"""

from typing import Any

import yaml

from samu_infra import userdata
from samu_infra.inventory import Declared, Inventory

#: Node label holding an edge node's media address (cluster.py writes it in RKE2's config).
MEDIA_ADDRESS_LABEL = "samu-platform.io/media-address"
RKE2_CONFIG = "/etc/rancher/rke2/config.yaml"


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


def _admits(rule: Declared, protocol: str, port: int) -> bool:
    return (
        rule.inputs.get("direction") == "ingress"
        and rule.inputs.get("protocol") in (protocol, None, "")
        and int(rule.inputs.get("portRangeMin") or 1)
        <= port
        <= int(rule.inputs.get("portRangeMax") or 65535)
    )


def _node_labels(server: Declared) -> list[str]:
    config = (
        yaml.safe_load(userdata.files(server.inputs.get("userData")).get(RKE2_CONFIG, "")) or {}
    )
    return [str(x) for x in config.get("node-label") or []]


def rtp_media_path(inv: Inventory) -> list[str]:
    """Carrier RTP reaches each edge node: its floating IP, the RTP range from the carrier only."""
    carrier = sorted(
        {
            str(c)
            for lst in inv.of_kind("Listener")
            if lst.marks().get("samu-traffic") == "sip-tls"
            for c in lst.inputs.get("allowedCidrs") or []
        }
    )
    media_groups = {
        g.id for g in inv.of_kind("SecGroup") if g.marks().get("samu-role") == "sip-edge-media"
    }
    if not carrier:
        return []
    rules = [
        r for r in inv.of_kind("SecGroupRule") if r.inputs.get("securityGroupId") in media_groups
    ]
    out = []
    ranges = {
        (int(r.inputs["portRangeMin"]), int(r.inputs["portRangeMax"]))
        for r in rules
        if r.inputs.get("portRangeMin")
    }
    if not media_groups or len(ranges) != 1:
        return [
            f"the edge's media group declares RTP ranges {sorted(ranges)}: declare one range "
            "(edge.rtpPortRange) for every carrier range"
        ]
    ((low, high),) = ranges
    for cidr in carrier:
        if not any(
            r.inputs.get("remoteIpPrefix") == cidr and r.inputs.get("protocol") == "udp"
            for r in rules
        ):
            out.append(f"no rule admits RTP {low}-{high}/udp from carrier range {cidr}: add one")
    for r in rules:
        if r.inputs.get("remoteIpPrefix") not in carrier:
            out.append(
                f"rule {r.name} admits RTP from {r.inputs.get('remoteIpPrefix') or r.inputs.get('remoteGroupId')}, not a carrier range: remove it"
            )
    fips = {f.name for f in inv.of_kind("FloatingIp") if f.marks().get("samu-traffic") == "rtp"}
    servers = {
        net.get("port"): s
        for s in inv.of_kind("Instance")
        for net in s.inputs.get("networks") or []
    }
    associated = [a for a in inv.of_kind("FloatingIpAssociate") if a.name in fips]
    if fips and len(associated) != len(fips):
        out.append(
            f"{len(fips) - len(associated)} media floating IP(s) reach no node: associate each"
        )
    for assoc in associated:
        port = inv.get(assoc.inputs.get("portId"))
        if port is None or not media_groups & set(port.inputs.get("securityGroupIds") or []):
            out.append(f"media address {assoc.name} reaches a port without the media group: add it")
            continue
        server = servers.get(port.id)
        label = f"{MEDIA_ADDRESS_LABEL}={assoc.inputs.get('floatingIp')}"
        if server is None or label not in _node_labels(server):
            out.append(
                f"node of {port.name} does not label its media address {label}: rtpengine "
                "would advertise an address the carrier cannot reach"
            )
    return out
