"""HA and SecNumCloud/HDS rules as pure functions over the declared resources.

Each rule takes an :class:`Inventory` (plain data: types, names, ids, camelCase inputs) and
returns the list of its violations, each naming the resource and the fix. No pulumi import
(checked by .importlinter): the rules judge a mock run, a test's hand-written example, or
any other source of declared resources alike.
"""

import ipaddress
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from samu_infra.config import EEA, QUALIFIED_REGIONS
from samu_infra.guardrails_cluster import installs_from_tenancy, recordings_storage_encrypted
from samu_infra.guardrails_sip import rtp_media_path, sip_edge_path
from samu_infra.inventory import Declared, Inventory
from samu_infra.labels import ENCRYPTION_SPEC_KEY, ENCRYPTION_SPEC_VALUE

MIN_ZONES = 3
#: Each group of tiers must have instances in every zone (per cluster for Kubernetes).
SPREAD_GROUPS: dict[str, tuple[str, ...]] = {
    "k8s-control": ("k8s-control",),
    "k8s-worker": ("k8s-worker",),
    "database": ("database", "database-standby"),
}
#: Tiers of a fixed size (3 etcd servers; RAC nodes + standby) that need three zones, not all.
THREE_ZONE_GROUPS = ("k8s-control", "database")
#: Listener ports whose traffic is TLS end to end when passed through (the backend terminates).
TLS_PORTS = {443: "https", 5061: "sip-tls", 6443: "kube-apiserver", 9345: "rke2-supervisor"}
#: Ports of the Kubernetes API: never reachable from outside the tenancy.
API_PORTS = {6443, 9345}
PRIVATE_TIERS = {"database", "database-standby", "k8s-control"}
SSH = 22
OPEN = {"0.0.0.0/0", "::/0"}

Rule = Callable[[Inventory], list[str]]


@dataclass(frozen=True)
class RuleResult:
    name: str
    description: str
    violations: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.violations

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.name,
            "description": self.description,
            "passed": self.passed,
            "violations": list(self.violations),
        }


def _instances(inv: Inventory) -> list[Declared]:
    return inv.of_kind("Instance")


def three_zones(inv: Inventory) -> list[str]:
    """The tenancy's instances span three availability zones at least."""
    zones = {r.zone for r in _instances(inv) if r.zone}
    if len(zones) >= MIN_ZONES:
        return []
    return [f"instances span {sorted(zones)}: spread them over {MIN_ZONES} zones at least"]


def tiers_spread(inv: Inventory) -> list[str]:
    """Worker pools cover every zone; control planes and the database (RAC + standby) three."""
    all_zones = {r.zone for r in _instances(inv) if r.zone}
    groups: dict[tuple[str, str], set[str]] = defaultdict(set)
    for r in _instances(inv):
        for group, tiers in SPREAD_GROUPS.items():
            if r.tier in tiers and r.zone:
                groups[(group, r.marks().get("samu-cluster", ""))].add(r.zone)
    out = []
    for (group, cluster), zones in sorted(groups.items()):
        where = f"{group} of cluster {cluster}" if cluster else group
        if group in THREE_ZONE_GROUPS:  # fixed-size tiers: three zones, not every zone
            if len(zones) < min(MIN_ZONES, len(all_zones)):
                out.append(f"{where} spans {sorted(zones)}: spread it over {MIN_ZONES} zones")
            continue
        missing = sorted(all_zones - zones)
        if missing:
            out.append(f"{where} has no instance in {missing}: add one per zone")
    return out


def standby_outside_primary(inv: Inventory) -> list[str]:
    """The Data Guard standby runs in a zone where no RAC node of the primary runs."""
    primary = {r.zone for r in _instances(inv) if r.tier == "database"}
    standbys = [r for r in _instances(inv) if r.tier == "database-standby"]
    if primary and not standbys:
        return ["the RAC primary has no Data Guard standby: declare one in another zone"]
    return [
        f"standby {s.name} is in {s.zone}, a zone of the primary {sorted(primary)}: "
        "move it to a zone with no RAC node"
        for s in standbys
        if s.zone in primary
    ]


def region_allowed(inv: Inventory) -> list[str]:
    """Every provider and resource region is a SecNumCloud-qualified region in the EEA."""
    out = []
    for r in inv.resources:
        region = r.inputs.get("region")
        if r.type == "pulumi:providers:openstack" and not region:
            out.append(f"provider {r.name} has no region: set one from the allow-list")
        elif region and QUALIFIED_REGIONS.get(region) not in EEA:
            out.append(
                f"{r.kind} {r.name} is in region {region!r}: use one of {sorted(QUALIFIED_REGIONS)}"
            )
    return out


def _encrypted_types(inv: Inventory) -> set[str]:
    return {
        r.inputs.get("name") or r.name
        for r in inv.of_kind("VolumeTypeV3")
        if (r.inputs.get("extraSpecs") or {}).get(ENCRYPTION_SPEC_KEY) == ENCRYPTION_SPEC_VALUE
    }


def encryption_at_rest(inv: Inventory) -> list[str]:
    """Every volume (root disks included) uses an encrypted type; recordings are encrypted."""
    encrypted = _encrypted_types(inv)
    out = []
    for v in inv.of_kind("Volume"):
        if v.inputs.get("volumeType") not in encrypted:
            out.append(
                f"volume {v.name} has type {v.inputs.get('volumeType')!r}: use an encrypted type"
            )
    for s in _instances(inv):
        devices = [
            d for d in s.inputs.get("blockDevices") or [] if d.get("destinationType") == "volume"
        ]
        if not devices:
            out.append(
                f"instance {s.name} boots from an ephemeral disk: boot from an encrypted volume"
            )
        out += [
            f"instance {s.name} has a root volume of type {d.get('volumeType')!r}: use an encrypted type"
            for d in devices
            if d.get("volumeType") not in encrypted
        ]
    for c in inv.of_kind("Container"):
        if (c.inputs.get("metadata") or {}).get("samu-encrypted") != "true":
            out.append(f"container {c.name} is not on an encrypted storage policy")
    return out


def tls_listeners(inv: Inventory) -> list[str]:
    """Listeners carrying admin or SIP-TLS traffic keep TLS: terminated with a cert, or passed through."""
    out = []
    for lst in inv.of_kind("Listener"):
        marks = lst.marks()
        traffic = marks.get("samu-traffic", "admin")  # unmarked counts as admin: the strict side
        if traffic not in ("admin", "sip-tls"):
            continue
        proto, port = lst.inputs.get("protocol"), int(lst.inputs.get("protocolPort") or 0)
        if proto == "TERMINATED_HTTPS":
            if not lst.inputs.get("defaultTlsContainerRef"):
                out.append(
                    f"listener {lst.name} terminates TLS without a certificate: set defaultTlsContainerRef"
                )
        elif proto in ("HTTPS", "TCP") and marks.get("samu-tls") == "passthrough":
            if port not in TLS_PORTS:
                out.append(
                    f"listener {lst.name} passes {traffic} through on {port}, not a TLS port {sorted(TLS_PORTS)}"
                )
        else:
            out.append(
                f"listener {lst.name} carries {traffic} traffic over {proto}/{port}: use TLS (TERMINATED_HTTPS, or passthrough on a TLS port)"
            )
    return out


def _open_cidr(cidr: Any) -> bool:
    return isinstance(cidr, str) and (cidr in OPEN or ipaddress.ip_network(cidr).prefixlen == 0)


def _exposed_target(
    inv: Inventory, port_id: Any, outputs_by_vip: dict[str, Declared]
) -> Declared | None:
    return inv.get(port_id) or outputs_by_vip.get(port_id)


def no_public_exposure(inv: Inventory, vip_ports: dict[str, Declared] | None = None) -> list[str]:
    """Nothing open to the internet but the bastion's SSH and the SIP edge; never a DB or the API."""
    vip_ports = vip_ports or {}
    out = []
    for rule in inv.of_kind("SecGroupRule"):
        if rule.inputs.get("direction") != "ingress":
            continue
        prefix, group = rule.inputs.get("remoteIpPrefix"), rule.inputs.get("remoteGroupId")
        if not prefix and not group:
            out.append(f"rule {rule.name} has no remote (= anyone): name a CIDR or a group")
        elif _open_cidr(prefix):
            out.append(f"rule {rule.name} is open to {prefix}: name the exact ranges")
    public_ports = [
        f.inputs.get("portId") for f in inv.of_kind("FloatingIpAssociate", "FloatingIp")
    ]
    for port_id in filter(None, public_ports):
        target = _exposed_target(inv, port_id, vip_ports)
        if target is None:
            continue
        if target.tier in PRIVATE_TIERS:
            out.append(f"{target.kind} {target.name} ({target.tier}) has a floating IP: remove it")
        if target.kind == "LoadBalancer":
            for lst in inv.of_kind("Listener"):
                if (
                    lst.inputs.get("loadbalancerId") == target.id
                    and int(lst.inputs.get("protocolPort") or 0) in API_PORTS
                ):
                    out.append(
                        f"the Kubernetes API listener {lst.name} is on a public load balancer"
                    )
    for lst in inv.of_kind("Listener"):
        cidrs = lst.inputs.get("allowedCidrs") or []
        if not cidrs or any(_open_cidr(c) for c in cidrs):
            out.append(f"listener {lst.name} accepts any source: set allowedCidrs")
    ext = {r.inputs.get("externalNetworkId") for r in inv.of_kind("Router")} - {None}
    for port in inv.of_kind("Port"):
        if port.tier in PRIVATE_TIERS and port.inputs.get("networkId") in ext:
            out.append(f"port {port.name} ({port.tier}) is on the external network")
    for c in inv.of_kind("Container"):
        acl = str(c.inputs.get("containerRead") or "")
        if ".r:" in acl or "*" in acl:
            out.append(f"container {c.name} is publicly readable ({acl!r}): remove the read ACL")
    return out


def _ssh_open(rule: Declared) -> bool:
    proto = rule.inputs.get("protocol")
    low, high = rule.inputs.get("portRangeMin"), rule.inputs.get("portRangeMax")
    if proto not in (None, "", "tcp"):
        return False
    return low is None or int(low) <= SSH <= int(high if high is not None else low)


def admin_via_bastion(inv: Inventory) -> list[str]:
    """SSH reaches the bastion from admin ranges only, and every other machine from the bastion only."""
    groups = {g.id: g for g in inv.of_kind("SecGroup")}
    bastion_groups = {gid for gid, g in groups.items() if g.marks().get("samu-role") == "bastion"}
    out = []
    if not bastion_groups or not any(s.tier == "admin" for s in _instances(inv)):
        out.append("no bastion declared: administrators need one audited way in")
    for rule in inv.of_kind("SecGroupRule"):
        if rule.inputs.get("direction") != "ingress" or not _ssh_open(rule):
            continue
        own = rule.inputs.get("securityGroupId")
        peers = own == rule.inputs.get("remoteGroupId") and own in groups
        if peers and groups[own].marks().get("samu-ssh-peers"):
            continue  # declared peer SSH inside one group (Oracle Grid install)
        on_bastion = own in bastion_groups
        from_bastion = rule.inputs.get("remoteGroupId") in bastion_groups
        if on_bastion and rule.inputs.get("remoteIpPrefix") and not from_bastion:
            continue
        if not on_bastion and from_bastion:
            continue
        out.append(f"rule {rule.name} lets SSH in other than admin ranges -> bastion -> machines")
    return out


def anti_affinity(inv: Inventory) -> list[str]:
    """Control-plane and database instances sit in hard anti-affinity server groups."""
    hard = {
        g.id
        for g in inv.of_kind("ServerGroup")
        if g.inputs.get("policies") in ("anti-affinity", ["anti-affinity"])
    }
    out = []
    for s in _instances(inv):
        if s.tier not in PRIVATE_TIERS:
            continue
        hints = {h.get("group") for h in s.inputs.get("schedulerHints") or []}
        if not hints & hard:
            out.append(f"instance {s.name} ({s.tier}) is in no anti-affinity server group")
    return out


def tenant_isolation(inv: Inventory) -> list[str]:
    """Each SAMU tenant is its own resource with its own numbers and its own recording container."""
    tenants = [r for r in inv.resources if r.kind == "SamuTenant"]
    out = []
    owners: dict[str, str] = {}
    for t in tenants:
        name = (t.inputs.get("metadata") or {}).get("name", t.name)
        for number in (t.inputs.get("spec") or {}).get("numbers") or []:
            if number in owners and owners[number] != name:
                out.append(
                    f"number {number} belongs to {owners[number]} and {name}: give it to one SAMU"
                )
            owners.setdefault(number, name)
    containers: dict[str, list[str]] = defaultdict(list)
    for c in inv.of_kind("Container"):
        containers[(c.inputs.get("metadata") or {}).get("samu-tenant", "")].append(c.name)
        if c.inputs.get("containerWrite") or c.inputs.get("containerRead"):
            out.append(
                f"container {c.name} grants access by ACL: keep it to the tenant's own credentials"
            )
    for t in tenants:
        name = (t.inputs.get("metadata") or {}).get("name", t.name)
        found = containers.get(name, [])
        if len(found) != 1:
            out.append(
                f"tenant {name} has {len(found)} recording containers: it needs exactly one of its own"
            )
    if containers.get(""):
        out.append(f"containers {containers['']} belong to no tenant: mark each with its tenant")
    return out


RULES: dict[str, Rule] = {
    "three-zones": three_zones,
    "tiers-spread": tiers_spread,
    "standby-outside-primary": standby_outside_primary,
    "region-allowed": region_allowed,
    "encryption-at-rest": encryption_at_rest,
    "tls-listeners": tls_listeners,
    "no-public-exposure": no_public_exposure,
    "admin-via-bastion": admin_via_bastion,
    "anti-affinity": anti_affinity,
    "tenant-isolation": tenant_isolation,
    "sip-edge-path": sip_edge_path,
    "rtp-media-path": rtp_media_path,
    "installs-from-tenancy": installs_from_tenancy,
    "recordings-storage-encrypted": recordings_storage_encrypted,
}


def check(
    resources: Iterable[Declared], vip_ports: dict[str, Declared] | None = None
) -> list[RuleResult]:
    """Run every rule; ``vip_ports`` maps load balancers' VIP port ids to the balancer."""
    inv = Inventory(resources)
    results = []
    for name, rule in RULES.items():
        found = no_public_exposure(inv, vip_ports) if rule is no_public_exposure else rule(inv)
        results.append(RuleResult(name, (rule.__doc__ or "").strip(), tuple(found)))
    return results
