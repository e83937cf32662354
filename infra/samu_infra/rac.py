"""Oracle RAC: two or more nodes in distinct zones, and a Data Guard standby in another zone.

What this declares: the public, private-interconnect and storage networks; node VIPs and
three SCAN VIPs as reserved ports whose addresses every node may take over (allowed
address pairs); the shared ASM disks as multi-attach volumes attached to every RAC node;
DNS for the SCAN name; the standby with its own volume; anti-affinity; no floating IP.
The interconnect is isolated (no router, no gateway), jumbo MTU, and its ports accept
HAIP's link-local addresses and Grid Infrastructure's multicast from the RAC group.

**Out of scope: installing Oracle Grid Infrastructure and Database.** cloud-init only
prepares the OS (cloudinit.oracle_node); the install, ASM disk groups, and the Data Guard
broker configuration are run afterwards by the DBA tooling, which reads the admin
password from the Barbican secret declared here.
"""

import pulumi
import pulumi_openstack as openstack

from samu_infra import cloudinit
from samu_infra.config import StackConfig
from samu_infra.labels import metadata, tags
from samu_infra.tenancy import (
    SSH,
    Tenancy,
    ZoneNet,
    boot_volume,
    egress,
    ingress,
    peer_rules,
)

LISTENER = 1521
#: HAIP puts link-local addresses on the interconnect: port security must let them pass.
HAIP_RANGE = "169.254.0.0/16"


def rac_zones(zones: list[str], standby_zone: str, nodes: int) -> list[str]:
    """Zone of each RAC node: round robin over the zones other than the standby's."""
    primary = [z for z in zones if z != standby_zone]
    return [primary[i % len(primary)] for i in range(nodes)]


class OracleRac(pulumi.ComponentResource):
    """RAC nodes + shared ASM disks + VIP/SCAN ports + standby; the Oracle install excluded."""

    def __init__(
        self,
        name: str,
        cfg: StackConfig,
        tenancy: Tenancy,
        admin_password: pulumi.Output[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("samu:infra:OracleRac", name, None, opts)
        self.cfg, self.tenancy, self.plan = cfg, tenancy, tenancy.plan
        self.child = pulumi.ResourceOptions(parent=self)
        ora = cfg.oracle
        self.node_zones = rac_zones(cfg.zones, ora.standby_zone, ora.nodes)
        self.image_id = openstack.images.get_image_output(
            name=ora.image, most_recent=True, opts=pulumi.InvokeOptions(parent=self)
        ).id
        self.public = self._network("public", self.plan.rac_public, routed=True)
        self.interconnect = self._network(
            "interconnect", self.plan.rac_interconnect, mtu=cfg.network.interconnect_mtu
        )
        self.storage = self._network("storage", self.plan.rac_storage)
        self._security_groups()
        self.group = openstack.compute.ServerGroup(
            f"{name}-nodes", policies="anti-affinity", opts=self.child
        )
        vips = [self.plan.rac_vip(i) for i in range(ora.nodes)]
        scan = self.plan.scan_vips()
        for i, ip in enumerate(vips):
            self._reserved_port(f"rac-vip-{i}", ip, "vip")
        for i, ip in enumerate(scan):
            self._reserved_port(f"rac-scan-{i}", ip, "scan")
        self.nodes = [self._rac_node(i, vips + scan) for i in range(ora.nodes)]
        self.disks = []
        for d in range(ora.asm_disks.count):
            disk = openstack.blockstorage.Volume(
                f"asm-{d:02d}",
                size=ora.asm_disks.size_gb,
                volume_type=tenancy.multiattach_type.name,
                metadata=metadata("database", role="asm", disk=f"asm-{d:02d}"),
                opts=self.child,
            )
            self.disks.append(disk)
            for i, node in enumerate(self.nodes):
                openstack.compute.VolumeAttach(
                    f"asm-{d:02d}-node-{i}",
                    instance_id=node.id,
                    volume_id=disk.id,
                    multiattach=True,
                    opts=self.child,
                )
        self.standby = self._standby()
        self._dns(name, vips, scan)
        self.admin_secret = openstack.keymanager.SecretV1(
            f"{name}-admin-password",
            name=f"{name}-sys-password",
            payload=admin_password,
            payload_content_type="text/plain",
            secret_type="passphrase",
            metadata=metadata("database", role="credential"),
            opts=self.child,
        )
        self.register_outputs({"scanName": self.scan_fqdn})

    def _network(
        self, kind: str, cidr: str, *, routed: bool = False, mtu: int | None = None
    ) -> ZoneNet:
        """RAC networks span every zone: VIPs move between nodes of different zones."""
        network = openstack.networking.Network(
            f"net-rac-{kind}",
            availability_zone_hints=self.cfg.zones,
            mtu=mtu,
            tags=tags("database", role=kind),
            opts=self.child,
        )
        subnet = openstack.networking.Subnet(
            f"subnet-rac-{kind}",
            network_id=network.id,
            cidr=cidr,
            ip_version=4,
            no_gateway=not routed,
            tags=tags("database", role=kind),
            opts=self.child,
        )
        if routed:
            openstack.networking.RouterInterface(
                f"router-rac-{kind}",
                router_id=self.tenancy.router.id,
                subnet_id=subnet.id,
                opts=self.child,
            )
        return ZoneNet(network, subnet)

    def _security_groups(self) -> None:
        t = self.tenancy
        self.sg_public = openstack.networking.SecGroup(
            "sg-db-public",
            delete_default_rules=True,
            tags=tags("database", role="db-public", ssh_peers="oracle-grid-install"),
            description="SQL*Net from the node subnets, SSH from the bastion",
            opts=self.child,
        )
        for zone, cidr in self.plan.nodes.items():
            ingress(f"db-sqlnet-{zone}", self.sg_public, LISTENER, cidr=cidr, parent=self)
        ingress("db-ssh", self.sg_public, SSH, remote_group=t.sg_bastion.id, parent=self)
        self.sg_private = openstack.networking.SecGroup(
            "sg-db-private",
            delete_default_rules=True,
            tags=tags("database", role="db-private"),
            description="interconnect and storage: RAC members only",
            opts=self.child,
        )
        peer_rules("db-public", self.sg_public, ssh=True, parent=self)
        peer_rules("db-private", self.sg_private, ssh=False, parent=self)
        # Public side: OS packages, NTP, Data Guard redo to the standby. Private side: peers only.
        egress("db-public-out", self.sg_public, cidr="0.0.0.0/0", parent=self)
        egress("db-private-out", self.sg_private, remote_group=self.sg_private.id, parent=self)

    def _reserved_port(self, name: str, ip: str, role: str) -> None:
        """Holds a VIP address so Neutron never gives it to anything else."""
        openstack.networking.Port(
            name,
            network_id=self.public.network.id,
            fixed_ips=[
                openstack.networking.PortFixedIpArgs(subnet_id=self.public.subnet.id, ip_address=ip)
            ],
            device_owner="samu-platform:reserved",
            security_group_ids=[self.sg_public.id],
            tags=tags("database", role=role),
            opts=self.child,
        )

    def _port(
        self,
        name: str,
        net: ZoneNet,
        ip: str,
        group: pulumi.Output[str],
        zone: str,
        pairs: list[str],
        tier: str = "database",
    ) -> openstack.networking.Port:
        return openstack.networking.Port(
            name,
            network_id=net.network.id,
            fixed_ips=[
                openstack.networking.PortFixedIpArgs(subnet_id=net.subnet.id, ip_address=ip)
            ],
            security_group_ids=[group],
            allowed_address_pairs=[
                openstack.networking.PortAllowedAddressPairArgs(ip_address=p) for p in pairs
            ],
            tags=tags(tier, zone),
            opts=self.child,
        )

    def _server(
        self,
        name: str,
        zone: str,
        tier: str,
        flavor: str,
        ports: list[openstack.networking.Port],
        role: str,
    ) -> openstack.compute.Instance:
        ora = self.cfg.oracle
        return openstack.compute.Instance(
            name,
            availability_zone=zone,
            flavor_name=flavor,
            key_pair=self.tenancy.keypair.name,
            block_devices=boot_volume(self.image_id, 100, self.tenancy.volume_type.name),
            networks=[openstack.compute.InstanceNetworkArgs(port=p.id) for p in ports],
            scheduler_hints=[openstack.compute.InstanceSchedulerHintArgs(group=self.group.id)],
            user_data=cloudinit.oracle_node(
                role=role,
                zone=zone,
                interconnect_mtu=self.cfg.network.interconnect_mtu,
                asm_disk_count=ora.asm_disks.count if role == "rac" else 0,
            ),
            metadata=metadata(tier, zone, role=role),
            opts=self.child,
        )

    def _rac_node(self, i: int, floating: list[str]) -> openstack.compute.Instance:
        zone = self.node_zones[i]
        ports = [
            self._port(
                f"rac-{i}-public",
                self.public,
                self.plan.rac_node_ip(i),
                self.sg_public.id,
                zone,
                floating,
            ),
            self._port(
                f"rac-{i}-interconnect",
                self.interconnect,
                self.plan.interconnect_ip(i),
                self.sg_private.id,
                zone,
                [HAIP_RANGE],
            ),
            self._port(
                f"rac-{i}-storage",
                self.storage,
                self.plan.storage_ip(i),
                self.sg_private.id,
                zone,
                [],
            ),
        ]
        return self._server(f"rac-{i}", zone, "database", self.cfg.oracle.flavor, ports, "rac")

    def _standby(self) -> openstack.compute.Instance:
        ora = self.cfg.oracle
        zone = ora.standby_zone
        ports = [
            self._port(
                "standby-public",
                self.public,
                self.plan.standby_ip(),
                self.sg_public.id,
                zone,
                [],
                tier="database-standby",
            ),
            self._port(
                "standby-storage",
                self.storage,
                self.plan.storage_ip(50),
                self.sg_private.id,
                zone,
                [],
                tier="database-standby",
            ),
        ]
        server = self._server(
            "standby", zone, "database-standby", ora.standby_flavor, ports, "dataguard-standby"
        )
        volume = openstack.blockstorage.Volume(
            "standby-data",
            size=ora.standby_disk_gb,
            availability_zone=zone,
            volume_type=self.tenancy.volume_type.name,
            metadata=metadata("database-standby", zone, role="standby-data"),
            opts=self.child,
        )
        openstack.compute.VolumeAttach(
            "standby-data", instance_id=server.id, volume_id=volume.id, opts=self.child
        )
        return server

    def _dns(self, name: str, vips: list[str], scan: list[str]) -> None:
        ora = self.cfg.oracle
        zone = openstack.dns.Zone(
            f"{name}-dns",
            name=f"db.{self.cfg.cloud.dns_zone}",
            email=f"hostmaster@{self.cfg.cloud.dns_zone.rstrip('.')}",
            ttl=300,
            opts=self.child,
        )
        self.scan_fqdn = f"{ora.scan_name}.db.{self.cfg.cloud.dns_zone}"
        records = {ora.scan_name: scan, "standby": [self.plan.standby_ip()]}
        records.update({f"rac-{i}-vip": [ip] for i, ip in enumerate(vips)})
        for label, ips in records.items():
            openstack.dns.RecordSet(
                f"dns-{label}",
                zone_id=zone.id,
                name=f"{label}.db.{self.cfg.cloud.dns_zone}",
                type="A",
                ttl=30,
                records=ips,
                opts=self.child,
            )
