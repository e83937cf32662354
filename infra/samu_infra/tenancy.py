"""Tenancy: the networks, router, security groups, bastion, key pair and volume types.

Every other component hangs off what this one declares. Security groups open nothing to
0.0.0.0/0: SIP-TLS only from the carrier's ranges, SSH only to the bastion and only from
the admin ranges, and SSH to any other machine only from the bastion's group.

Encryption at rest is asked of the storage backend (scheduler extra spec
``capabilities:encryption_at_rest``), not of Cinder's front-end LUKS types: the provider
cannot declare those, and Cinder/Nova do not support encryption on multi-attach volumes,
which the Oracle ASM disks must be. Creating volume types is admin-only by default: on a
shared cloud the provider creates them and the stack imports them.
"""

from dataclasses import dataclass

import pulumi
import pulumi_openstack as openstack

from samu_infra import cloudinit
from samu_infra.addressing import AddressPlan
from samu_infra.config import StackConfig
from samu_infra.labels import (
    ENCRYPTION_SPEC_KEY,
    ENCRYPTION_SPEC_VALUE,
    MULTIATTACH_SPEC_KEY,
    MULTIATTACH_SPEC_VALUE,
    metadata,
    tags,
)
from samu_infra.mirror import ARTIFACTS_PORT, REGISTRY_PORT, stack_mirror

SSH = 22
SIP_TLS = 5061


@dataclass
class ZoneNet:
    network: openstack.networking.Network
    subnet: openstack.networking.Subnet


def boot_volume(
    image_id: pulumi.Input[str], size_gb: int, volume_type: pulumi.Input[str]
) -> list[openstack.compute.InstanceBlockDeviceArgs]:
    """Boot from a volume of the encrypted type: no unencrypted ephemeral root disk."""
    return [
        openstack.compute.InstanceBlockDeviceArgs(
            source_type="image",
            uuid=image_id,
            destination_type="volume",
            volume_size=size_gb,
            volume_type=volume_type,
            boot_index=0,
            delete_on_termination=True,
        )
    ]


def ingress(
    name: str,
    group: openstack.networking.SecGroup,
    port: int | tuple[int, int] | None,
    *,
    protocol: str | None = "tcp",
    cidr: str | None = None,
    remote_group: pulumi.Input[str] | None = None,
    parent: pulumi.Resource,
) -> openstack.networking.SecGroupRule:
    """One ingress rule; from a CIDR or from another group, never from nowhere (= anywhere)."""
    if (cidr is None) == (remote_group is None):
        raise ValueError(f"rule {name}: give exactly one of cidr and remote_group")
    low, high = port if isinstance(port, tuple) else (port, port)
    return openstack.networking.SecGroupRule(
        name,
        direction="ingress",
        ethertype="IPv4",
        protocol=protocol,
        port_range_min=low,
        port_range_max=high,
        remote_ip_prefix=cidr,
        remote_group_id=remote_group,
        security_group_id=group.id,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def egress(
    name: str,
    group: openstack.networking.SecGroup,
    *,
    cidr: str | None = None,
    remote_group: pulumi.Input[str] | None = None,
    parent: pulumi.Resource,
) -> openstack.networking.SecGroupRule:
    """Outbound traffic: groups are created without Neutron's default allow-all rules."""
    return openstack.networking.SecGroupRule(
        name,
        direction="egress",
        ethertype="IPv4",
        remote_ip_prefix=cidr,
        remote_group_id=remote_group,
        security_group_id=group.id,
        opts=pulumi.ResourceOptions(parent=parent),
    )


def peer_rules(
    name: str, group: openstack.networking.SecGroup, *, ssh: bool, parent: pulumi.Resource
) -> None:
    """Members of a group talk freely to each other; SSH between them only when ``ssh``.

    Kubernetes nodes never need SSH to one another (admins come from the bastion); Oracle
    Grid Infrastructure's installer does (SSH user equivalence between RAC nodes).
    """
    tcp = [(1, 65535)] if ssh else [(1, SSH - 1), (SSH + 1, 65535)]
    for i, ports in enumerate(tcp):
        ingress(f"{name}-peers-tcp-{i}", group, ports, remote_group=group.id, parent=parent)
    ingress(
        f"{name}-peers-udp", group, (1, 65535), protocol="udp", remote_group=group.id, parent=parent
    )
    for proto in ("icmp", "igmp"):  # IGMP: Grid Infrastructure's multicast (mDNS, HAIP)
        ingress(
            f"{name}-peers-{proto}",
            group,
            None,
            protocol=proto,
            remote_group=group.id,
            parent=parent,
        )


class Tenancy(pulumi.ComponentResource):
    """Networks per zone, router, security groups, bastion, key pair, encrypted volume types."""

    def __init__(
        self,
        name: str,
        cfg: StackConfig,
        plan: AddressPlan,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("samu:infra:Tenancy", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.cfg = cfg
        self.plan = plan
        self.mirror = stack_mirror(cfg, plan)
        self.image_id = openstack.images.get_image_output(
            name=cfg.cloud.image, most_recent=True, opts=pulumi.InvokeOptions(parent=self)
        ).id
        self.external_network_id = openstack.networking.get_network_output(
            name=cfg.cloud.external_network, external=True, opts=pulumi.InvokeOptions(parent=self)
        ).id
        self.keypair = openstack.compute.Keypair(
            f"{name}-admin", public_key=cfg.ssh_public_key, opts=child
        )
        self.volume_type = openstack.blockstorage.VolumeTypeV3(
            "encrypted",
            name="samu-encrypted",
            is_public=True,  # a private type would need a VolumeTypeAccessV3 grant per project
            extra_specs={ENCRYPTION_SPEC_KEY: ENCRYPTION_SPEC_VALUE},
            description="every volume of the tenancy: backend encrypts at rest",
            opts=child,
        )
        self.multiattach_type = openstack.blockstorage.VolumeTypeV3(
            "encrypted-multiattach",
            name="samu-encrypted-multiattach",
            is_public=True,  # a private type would need a VolumeTypeAccessV3 grant per project
            extra_specs={
                ENCRYPTION_SPEC_KEY: ENCRYPTION_SPEC_VALUE,
                MULTIATTACH_SPEC_KEY: MULTIATTACH_SPEC_VALUE,
            },
            description="Oracle ASM shared disks: attached to every RAC node",
            opts=child,
        )
        self.router = openstack.networking.Router(
            f"{name}-router",
            external_network_id=self.external_network_id,
            availability_zone_hints=cfg.zones,
            tags=tags("tenancy"),
            opts=child,
        )
        self.zones: dict[str, ZoneNet] = {z: self._zone_net(z) for z in cfg.zones}
        self.admin = self._routed_net("admin", plan.admin, tier="admin", zones=cfg.zones)
        self._security_groups()
        self._bastion()
        self.register_outputs({"routerId": self.router.id})

    def _routed_net(self, name: str, cidr: str, *, tier: str, zones: list[str]) -> ZoneNet:
        child = pulumi.ResourceOptions(parent=self)
        zone = zones[0] if len(zones) == 1 else None
        network = openstack.networking.Network(
            f"net-{name}", availability_zone_hints=zones, tags=tags(tier, zone), opts=child
        )
        subnet = openstack.networking.Subnet(
            f"subnet-{name}",
            network_id=network.id,
            cidr=cidr,
            ip_version=4,
            dns_nameservers=self.cfg.network.dns_nameservers,
            tags=tags(tier, zone),
            opts=child,
        )
        openstack.networking.RouterInterface(
            f"router-{name}", router_id=self.router.id, subnet_id=subnet.id, opts=child
        )
        return ZoneNet(network, subnet)

    def _zone_net(self, zone: str) -> ZoneNet:
        return self._routed_net(
            f"nodes-{zone}", self.plan.nodes[zone], tier="tenancy", zones=[zone]
        )

    def _group(self, name: str, tier: str, description: str) -> openstack.networking.SecGroup:
        return openstack.networking.SecGroup(
            f"sg-{name}",
            description=description,
            delete_default_rules=True,
            tags=tags(tier, role=name),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _security_groups(self) -> None:
        net = self.cfg.network
        self.sg_bastion = self._group("bastion", "admin", "SSH from the admin ranges only")
        for i, cidr in enumerate(net.admin_cidrs):
            ingress(f"bastion-ssh-{i}", self.sg_bastion, SSH, cidr=cidr, parent=self)
        self.sg_nodes = self._group("nodes", "k8s-worker", "Kubernetes nodes of every cluster")
        ingress("nodes-ssh", self.sg_nodes, SSH, remote_group=self.sg_bastion.id, parent=self)
        peer_rules("nodes", self.sg_nodes, ssh=False, parent=self)
        # Outbound (RKE2 artefacts, image registry, DNS, NTP) leaves through the router's SNAT;
        # egress filtering beyond this is the provider firewall's or an egress proxy's job.
        # The bastion serves the mirror (artifacts, images) to every node: from the supernet.
        for port in (ARTIFACTS_PORT, REGISTRY_PORT):
            ingress(f"mirror-{port}", self.sg_bastion, port, cidr=net.supernet, parent=self)
        egress("bastion-out", self.sg_bastion, cidr="0.0.0.0/0", parent=self)
        egress("nodes-out", self.sg_nodes, cidr="0.0.0.0/0", parent=self)
        for port in (6443, 9345):  # API and RKE2 supervisor: internal callers and the LB only
            ingress(f"nodes-api-{port}", self.sg_nodes, port, cidr=net.supernet, parent=self)
        # The SIP edge load balancer's VIP: SIP-TLS 5061 from the carrier's ranges only.
        self.sg_sip = self._group("sip-edge", "sip-edge", "SIP-TLS from the carrier ranges only")
        for i, cidr in enumerate(net.carrier_cidrs):
            ingress(f"sip-tls-{i}", self.sg_sip, SIP_TLS, cidr=cidr, parent=self)
        # The workers behind it: the LB's members are the workers on the edge's fixed node
        # port, and Octavia forwards (and health-checks) from its amphorae's addresses in the
        # member subnets, inside the supernet, never from the carrier's: admit that port from
        # the supernet only. The carrier never reaches a worker directly (no floating IP).
        node_port = self.cfg.edge.sip_tls_node_port
        self.sg_sip_nodes = self._group(
            "sip-edge-nodes", "sip-edge", f"SIP-TLS node port {node_port} from the SIP edge LB"
        )
        ingress("sip-tls-nodeport-lb", self.sg_sip_nodes, node_port, cidr=net.supernet, parent=self)
        # The edge nodes' media: the carrier sends RTP straight to each edge node's floating
        # IP (cluster.py), on the edge's RTP range, from the carrier's ranges only.
        rtp = self.cfg.edge.rtp_port_range
        self.sg_media = self._group(
            "sip-edge-media",
            "sip-edge",
            f"RTP {rtp.min}-{rtp.max}/udp from the carrier ranges only",
        )
        for i, cidr in enumerate(net.carrier_cidrs):
            ingress(
                f"rtp-carrier-{i}",
                self.sg_media,
                (rtp.min, rtp.max),
                protocol="udp",
                cidr=cidr,
                parent=self,
            )

    def _bastion(self) -> None:
        child = pulumi.ResourceOptions(parent=self)
        zone = self.cfg.bastion_zone
        port = openstack.networking.Port(
            "bastion",
            network_id=self.admin.network.id,
            # Fixed: the nodes' cloud-init names the mirror by this address before any DNS.
            fixed_ips=[
                openstack.networking.PortFixedIpArgs(
                    subnet_id=self.admin.subnet.id, ip_address=self.mirror.address
                )
            ],
            security_group_ids=[self.sg_bastion.id],
            tags=tags("admin", zone),
            opts=child,
        )
        self.bastion = openstack.compute.Instance(
            "bastion",
            availability_zone=zone,
            flavor_name=self.cfg.bastion.flavor,
            key_pair=self.keypair.name,
            block_devices=boot_volume(self.image_id, 20, self.volume_type.name),
            networks=[openstack.compute.InstanceNetworkArgs(port=port.id)],
            user_data=cloudinit.bastion(
                admin_cidrs=list(self.cfg.network.admin_cidrs), mirror=self.mirror
            ),
            metadata=metadata("admin", zone),
            opts=child,
        )
        fip = openstack.networking.FloatingIp(
            "bastion", pool=self.cfg.cloud.external_network, tags=tags("admin", zone), opts=child
        )
        openstack.networking.FloatingIpAssociate(
            "bastion", floating_ip=fip.address, port_id=port.id, opts=child
        )
        self.bastion_address = fip.address
