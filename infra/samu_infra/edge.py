"""Values of the samu-edge release (Kamailio + routing sidecar), derived from the stack.

Pure: the config check (stackfile.py) and the component (edge_release.py) share it, so the
values that are validated before anything is declared are the values that get released.

What comes from the stack rather than from ``edge.values``:

- ``networkPolicy.carrierCidrs`` and ``service.loadBalancerSourceRanges``: the carrier
  ranges the tenancy already opens on the SIP security group (``network.carrierCidrs``),
  plus the supernet, because the Octavia TCP passthrough forwards from its amphorae (inside
  the supernet), not from the carrier. One source of truth: a second list could drift and
  drop calls at the pod.
- ``sip.tls``: enabled on port 5061, the only port the SIP edge load balancer listens on.
- ``service``: type NodePort with the fixed node port ``edge.sipTlsNodePort``, the port the
  load balancer's members (the workers) are declared with, and ``externalTrafficPolicy:
  Local``, so that a worker with no edge pod fails the LB's TLS-HELLO health monitor and gets
  no call (instead of forwarding it through a second hop). Not type LoadBalancer: a cloud
  controller would create a second load balancer, outside the security groups, carrier ranges
  and floating IP the tenancy declares. Not hostPort: Pod Security "restricted" forbids it.
  Kamailio still listens on 5061 in the pod and advertises the floating IP with 5061: the
  carrier only ever sees the load balancer's address, never the node port.
- ``sip.advertise``: the SIP edge load balancer's floating IP. Neutron allocates it, so it
  is *not* known at plan time on the first ``up``; Pulumi still resolves it before it
  creates the Release (the value depends on the floating IP), which is why it is wired as
  an output instead of a stack key: a copied address in the stack would silently go stale
  when the floating IP is re-created, and Kamailio advertising the wrong address sends the
  carrier's ACK/BYE elsewhere. ``edge.values.sip.advertise`` may still pin an address
  (e.g. a carrier-side NAT); the schema then checks it is an IPv4 address.
"""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from samu_infra.config import NODE_PORT_RANGE, StackConfig
from samu_infra.guardrails_sip import MEDIA_ADDRESS_LABEL  # the nodes carry their address
from samu_operator.core.netpol import EDGE_NAMESPACE  # tenants admit SIP only from it

__all__ = [
    "EDGE_NAMESPACE",
    "edge_issues",
    "merge",
    "release_values",
    "sip_sources",
    "tls_secret_name",
]
#: The port the SIP edge load balancer listens on (tenancy.SIP_TLS; a test keeps them equal).
SIP_TLS_PORT = 5061
#: Values the stack derives: set them at their source key, not in ``edge.values``.
DERIVED: dict[tuple[str, ...], str] = {
    ("networkPolicy", "carrierCidrs"): "network.carrierCidrs",
    ("service", "loadBalancerSourceRanges"): "network.carrierCidrs",
    ("sip", "tls", "enabled"): "the SIP edge load balancer (SIP-TLS only)",
    ("sip", "tls", "port"): "the SIP edge load balancer (port 5061)",
    ("service", "type"): "the SIP edge load balancer (NodePort: its members are the workers)",
    ("service", "nodePorts", "sipTls"): "edge.sipTlsNodePort",
    ("service", "externalTrafficPolicy"): "the SIP edge load balancer's health monitor (Local)",
    ("media", "network", "mode"): "the edge nodes' own media addresses (hostNetwork)",
    ("media", "network", "advertiseNodeLabel"): "the edge nodes' media-address label",
    ("media", "rtpPorts"): "edge.rtpPortRange",
}


def merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Helm's way of applying values over others: maps merge deeply, the rest replaces."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def sip_sources(cfg: StackConfig) -> list[str]:
    """Where SIP may reach the edge pods from: the carrier, and the LB's amphorae."""
    return [*cfg.network.carrier_cidrs, cfg.network.supernet]


def release_values(cfg: StackConfig, advertise: object) -> dict[str, Any]:
    """The Release's values: derived ones under ``edge.values`` (which may pin advertise).

    ``advertise`` is the load balancer's address (a Pulumi output in the program, a string
    in checks); it is used only when the stack does not pin ``sip.advertise`` itself.
    """
    sources = sip_sources(cfg)
    rtp = cfg.edge.rtp_port_range
    derived: dict[str, Any] = {
        "sip": {"advertise": advertise, "tls": {"enabled": True, "port": SIP_TLS_PORT}},
        "networkPolicy": {"carrierCidrs": sources},
        "service": {
            "type": "NodePort",
            "nodePorts": {"sipTls": cfg.edge.sip_tls_node_port},
            "externalTrafficPolicy": "Local",
            # Unused by a NodePort Service; kept equal so that no stale copy can be set.
            "loadBalancerSourceRanges": sources,
        },
        # The carrier's RTP reaches each edge node on its own floating IP (1:1 NAT to the
        # node, cluster.py): rtpengine on the node's network, advertising the address the
        # node's label holds, on the range the node's media group admits.
        "media": {
            "network": {"mode": "hostNetwork", "advertiseNodeLabel": MEDIA_ADDRESS_LABEL},
            "rtpPorts": {"min": rtp.min, "max": rtp.max},
        },
    }
    return merge(derived, cfg.edge.values)


def tls_secret_name(cfg: StackConfig) -> str:
    """The Secret Kamailio mounts (``edge.values.sip.tls.secretName``; "" when unset)."""
    tls = (cfg.edge.values.get("sip") or {}).get("tls") or {}
    name = tls.get("secretName", "") if isinstance(tls, Mapping) else ""
    return name if isinstance(name, str) else ""


def _tls_issues(cfg: StackConfig) -> list[tuple[str, str]]:
    """The certificate comes from secure stack values, or (existingSecret) from elsewhere."""
    tls = cfg.edge.tls
    secret = tls_secret_name(cfg) or "<sip.tls.secretName>"
    if tls.existing_secret:
        return [
            (
                f"edge.tls.{field}",
                f"edge.tls.existingSecret is true (another tool writes Secret {secret}): "
                "remove it, or set existingSecret: false to have the program write the Secret",
            )
            for field, value in (("certificate", tls.certificate), ("privateKey", tls.private_key))
            if value is not None
        ]
    fixes = {
        "certificate": "pulumi config set --secret --path edge.tls.certificate -- "
        '"$(cat tls.crt)"  (PEM, the full chain)',
        "privateKey": 'pulumi config set --secret --path edge.tls.privateKey -- "$(cat tls.key)"',
    }
    return [
        (
            f"edge.tls.{field}",
            f"missing: the program writes Secret {secret} in namespace {EDGE_NAMESPACE} from it; "
            f"set it with '{fixes[field]}', or set edge.tls.existingSecret: true if "
            "cert-manager (or another tool) writes that Secret",
        )
        for field, value in (("certificate", tls.certificate), ("privateKey", tls.private_key))
        if value is None
    ]


#: Fewest media ports an edge node may have: 4 per call (RTP + RTCP on both legs).
MIN_RTP_PORTS = 1000


def _rtp_issues(cfg: StackConfig) -> list[tuple[str, str]]:
    """The RTP range: ordered, wide enough, outside the node ports (which take their packets)."""
    rtp = cfg.edge.rtp_port_range
    key = "edge.rtpPortRange"
    if rtp.max < rtp.min:
        return [(key, f"min {rtp.min} is above max {rtp.max}: swap them")]
    out = []
    if rtp.max - rtp.min + 1 < MIN_RTP_PORTS:
        out.append(
            (
                key,
                f"{rtp.max - rtp.min + 1} ports: a call takes 4; give {MIN_RTP_PORTS} at least "
                "(e.g. 40000-49999)",
            )
        )
    low, high = NODE_PORT_RANGE
    if rtp.min <= high and rtp.max >= low:
        out.append(
            (
                key,
                f"{rtp.min}-{rtp.max} overlaps the node port range {low}-{high}, whose "
                "Services would take the media packets: move it above, e.g. 40000-49999",
            )
        )
    return out


def _at(values: Mapping[str, Any], path: tuple[str, ...]) -> bool:
    node: Any = values
    for part in path:
        if not isinstance(node, Mapping) or part not in node:
            return False
        node = node[part]
    return True


def _path(parts: Any) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def edge_issues(cfg: StackConfig, project_root: Path) -> list[tuple[str, str]]:
    """(key after ``samu-platform:``, problem and fix) for everything wrong with ``edge``."""
    import jsonschema  # only the config check needs it (a runtime dependency)

    edge = cfg.edge
    issues: list[tuple[str, str]] = []
    if edge.namespace != EDGE_NAMESPACE:
        issues.append(
            (
                "edge.namespace",
                f"{edge.namespace!r}: the tenants' NetworkPolicies admit SIP only from "
                f"namespace {EDGE_NAMESPACE}: set {EDGE_NAMESPACE}",
            )
        )
    issues += _tls_issues(cfg)
    issues += _rtp_issues(cfg)
    clusters = {c.name: (i, c) for i, c in enumerate(cfg.clusters)}
    if cfg.operator.cluster in clusters:
        i, cluster = clusters[cfg.operator.cluster]
        if not cluster.sip_edge:
            issues.append(
                (
                    f"clusters[{i}].sipEdge",
                    f"the SIP edge is released on the operator's cluster {cluster.name!r}, "
                    "which has no carrier-facing load balancer: set sipEdge: true",
                )
            )
    for path, source in DERIVED.items():
        if _at(edge.values, path):
            issues.append(
                (
                    "edge.values" + _path(path),
                    f"derived from {source}: remove it from edge.values",
                )
            )
    chart = project_root / edge.chart
    try:
        schema = json.loads((chart / "values.schema.json").read_text(encoding="utf-8"))
        defaults = yaml.safe_load((chart / "values.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, ValueError, yaml.YAMLError) as exc:
        issues.append(
            ("edge.chart", f"{edge.chart!r} is not a readable chart ({exc}): use helm/samu-edge")
        )
        return issues
    values = merge(defaults, release_values(cfg, ""))
    validator = jsonschema.Draft7Validator(schema)
    for err in sorted(validator.iter_errors(values), key=lambda e: list(e.absolute_path)):
        issues.append(
            (
                "edge.values" + _path(err.absolute_path),
                f"{err.message}: fix it ({edge.chart}/values.schema.json)",
            )
        )
    tls = values.get("sip", {}).get("tls", {})
    if isinstance(tls, Mapping) and not tls.get("secretName"):
        issues.append(
            (
                "edge.values.sip.tls.secretName",
                "missing: the SIP edge load balancer forwards SIP-TLS only; name the Secret "
                f"holding tls.crt and tls.key in namespace {EDGE_NAMESPACE} (e.g. cert-manager's)",
            )
        )
    return issues
