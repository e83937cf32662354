"""A Kubernetes cluster (RKE2, see cloudinit.py for why) spread over every zone.

Control plane: three servers, one per zone, in a hard anti-affinity server group, behind an
Octavia load balancer (API 6443 and RKE2 supervisor 9345, TLS passed through to the
servers, reachable only from inside the supernet). Workers: one pool per zone, soft
anti-affinity (more nodes than hosts must still schedule). Telephony clusters add a SIP-TLS
load balancer, open to the carrier's ranges only. The kubeconfig is a secret output.

The zone-0 server bootstraps etcd (no ``server:`` in its config); the others join through
the VIP. Replacing that server on a live cluster must not bootstrap a second cluster:
before replacing it, add ``server:`` to its config (a step for the runbook, not the program).
"""

import json

import pulumi
import pulumi_openstack as openstack

from samu_infra import addons, cloudinit
from samu_infra.config import Cluster, StackConfig
from samu_infra.guardrails_sip import MEDIA_ADDRESS_LABEL  # rtpengine advertises it in SDP
from samu_infra.labels import metadata, tags
from samu_infra.tenancy import SIP_TLS, Tenancy, boot_volume

API_PORT = 6443
SUPERVISOR_PORT = 9345
#: Idle time (ms) before Octavia closes a carrier's SIP-TLS connection (its default: 50 s).
#: SIP over TLS keeps one long-lived connection per carrier trunk, idle between requests;
#: the edge sends in-dialog requests to the carrier (the ARM's BYE) back on it. 50 s is below
#: the usual 60 s keep-alive (OPTIONS or CRLF) of a trunk: one quiet minute would cut it.
SIP_IDLE_TIMEOUT_MS = 3_600_000


def kubeconfig(cluster: str, api_host: str, ca_cert: str, admin_token: str) -> str:
    """An admin kubeconfig for the cluster's API VIP (JSON is valid YAML)."""
    import base64

    ca = base64.b64encode(ca_cert.encode()).decode()
    user = f"{cluster}-admin"
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": cluster,
                "cluster": {
                    "server": f"https://{api_host}:{API_PORT}",
                    "certificate-authority-data": ca,
                },
            }
        ],
        "users": [{"name": user, "user": {"token": admin_token}}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": user}}],
        "current-context": cluster,
    }
    return json.dumps(doc, indent=2)


class KubernetesCluster(pulumi.ComponentResource):
    """Control plane over three zones behind Octavia, a worker pool per zone."""

    def __init__(
        self,
        spec: Cluster,
        cfg: StackConfig,
        tenancy: Tenancy,
        secrets: pulumi.Output[dict],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("samu:infra:KubernetesCluster", spec.name, None, opts)
        self.spec = spec
        self.cfg = cfg
        self.tenancy = tenancy
        self.secrets = secrets
        self.child = pulumi.ResourceOptions(parent=self)
        first_zone = cfg.zones[0]
        self.api_lb = openstack.loadbalancer.LoadBalancer(
            f"{spec.name}-api",
            vip_subnet_id=tenancy.zones[first_zone].subnet.id,
            description=f"{spec.name} Kubernetes API: internal only",
            tags=tags("k8s-control", cluster=spec.name),
            opts=self.child,
        )
        self.api_host = self.api_lb.vip_address
        pools = {port: self._api_pool(port) for port in (API_PORT, SUPERVISOR_PORT)}
        self.cp_group = openstack.compute.ServerGroup(
            f"{spec.name}-control-plane", policies="anti-affinity", opts=self.child
        )
        self.worker_group = openstack.compute.ServerGroup(
            f"{spec.name}-workers", policies="soft-anti-affinity", opts=self.child
        )
        # The Cinder CSI add-on's own credential: volumes and attachments, nothing else.
        self.csi_credential = openstack.identity.ApplicationCredential(
            f"{spec.name}-csi",
            name=f"samu-{spec.name}-cinder-csi",
            description=f"Cinder CSI of cluster {spec.name}: volumes and attachments only",
            unrestricted=False,
            access_rules=[
                openstack.identity.ApplicationCredentialAccessRuleArgs(**rule)
                for rule in addons.csi_access_rules()
            ],
            opts=self.child,
        )
        self.control_plane = []
        for i, zone in enumerate(cfg.zones[:3]):
            server, address = self._control_plane_node(i, zone)
            self.control_plane.append(server)
            for port, pool in pools.items():
                openstack.loadbalancer.Member(
                    f"{spec.name}-cp-{zone}-{port}",
                    pool_id=pool.id,
                    address=address,
                    protocol_port=port,
                    subnet_id=tenancy.zones[zone].subnet.id,
                    tags=tags("k8s-control", zone),
                    opts=self.child,
                )
        self.worker_addresses: list[tuple[str, pulumi.Output[str]]] = []
        self.media_addresses: dict[str, pulumi.Output[str]] = {}
        for zone in cfg.zones:
            for n in range(spec.workers.per_zone):
                self.worker_addresses.append((zone, self._worker(zone, n)))
        if spec.sip_edge:
            self._sip_edge()
        self.kubeconfig = pulumi.Output.secret(
            pulumi.Output.all(self.api_host, secrets).apply(
                lambda v: kubeconfig(
                    spec.name, v[0], v[1][spec.name]["caCert"], v[1][spec.name]["adminToken"]
                )
            )
        )
        self.register_outputs({"apiHost": self.api_host, "kubeconfig": self.kubeconfig})

    def _api_pool(self, port: int) -> openstack.loadbalancer.Pool:
        name = f"{self.spec.name}-api-{port}"
        listener = openstack.loadbalancer.Listener(
            name,
            loadbalancer_id=self.api_lb.id,
            protocol="HTTPS",  # Octavia HTTPS = TLS passthrough: the API server terminates TLS
            protocol_port=port,
            allowed_cidrs=[self.cfg.network.supernet],
            tags=tags("k8s-control", traffic="admin", tls="passthrough"),
            opts=self.child,
        )
        pool = openstack.loadbalancer.Pool(
            name,
            listener_id=listener.id,
            protocol="HTTPS",
            lb_method="LEAST_CONNECTIONS",
            tags=tags("k8s-control"),
            opts=self.child,
        )
        openstack.loadbalancer.Monitor(
            name,
            pool_id=pool.id,
            # TLS-HELLO, not HTTPS /readyz: the CIS profile turns anonymous requests away.
            type="TLS-HELLO",
            delay=5,
            timeout=3,
            max_retries=2,
            max_retries_down=2,
            opts=self.child,
        )
        return pool

    def _node(
        self,
        name: str,
        zone: str,
        tier: str,
        flavor: str,
        disk_gb: int,
        group: openstack.compute.ServerGroup,
        user_data: pulumi.Output[str],
        security_groups: list[pulumi.Output[str]],
    ) -> tuple[openstack.compute.Instance, openstack.networking.Port]:
        port = openstack.networking.Port(
            name,
            network_id=self.tenancy.zones[zone].network.id,
            fixed_ips=[
                openstack.networking.PortFixedIpArgs(subnet_id=self.tenancy.zones[zone].subnet.id)
            ],
            security_group_ids=security_groups,
            tags=tags(tier, zone, cluster=self.spec.name),
            opts=self.child,
        )
        server = openstack.compute.Instance(
            name,
            availability_zone=zone,
            flavor_name=flavor,
            key_pair=self.tenancy.keypair.name,
            block_devices=boot_volume(
                self.tenancy.image_id, disk_gb, self.tenancy.volume_type.name
            ),
            networks=[openstack.compute.InstanceNetworkArgs(port=port.id)],
            scheduler_hints=[openstack.compute.InstanceSchedulerHintArgs(group=group.id)],
            user_data=user_data,
            metadata=metadata(tier, zone, cluster=self.spec.name),
            opts=self.child,
        )
        return server, port

    def _control_plane_node(
        self, index: int, zone: str
    ) -> tuple[openstack.compute.Instance, pulumi.Output[str]]:
        server, port = self._control_plane_port(index, zone)
        return server, port.all_fixed_ips[0]

    def _control_plane_port(
        self, index: int, zone: str
    ) -> tuple[openstack.compute.Instance, openstack.networking.Port]:
        spec = self.spec
        cfg, tenancy = self.cfg, self.tenancy
        user_data = pulumi.Output.all(
            self.api_host,
            self.secrets,
            tenancy.volume_type.name,
            self.csi_credential.id,
            self.csi_credential.secret,
        ).apply(
            lambda v: cloudinit.rke2_server(
                zone=zone,
                api_host=v[0],
                bootstrap=index == 0,
                version=spec.rke2_version,
                join_token=v[1][spec.name]["joinToken"],
                admin_token=v[1][spec.name]["adminToken"],
                ca_cert=v[1][spec.name]["caCert"],
                ca_key=v[1][spec.name]["caKey"],
                mirror=tenancy.mirror,
                pod_cidr=cfg.network.pod_cidr,
                service_cidr=cfg.network.service_cidr,
                manifests=addons.manifest_files(
                    tenancy.mirror,
                    v[2],
                    cfg.zones,
                    addons.cloud_conf(cfg.cloud.auth_url, cfg.cloud.region, v[3], v[4]),
                ),
            )
        )
        return self._node(
            f"{spec.name}-cp-{zone}",
            zone,
            "k8s-control",
            spec.control_plane_flavor,
            spec.control_plane_disk_gb,
            self.cp_group,
            user_data,
            [self.tenancy.sg_nodes.id],
        )

    def _worker(self, zone: str, n: int) -> pulumi.Output[str]:
        spec = self.spec
        name = f"{spec.name}-worker-{zone}-{n}"
        media: openstack.networking.FloatingIp | None = None
        labels: pulumi.Input[dict[str, str]] = {}
        reserved = None
        groups = [self.tenancy.sg_nodes.id]
        if spec.sip_edge:
            # The SIP edge LB's members: its node port from the amphorae. And the node's own
            # media address: the carrier's RTP reaches rtpengine (host network) on this
            # floating IP, 1:1 NAT to the node, whatever edge pod the node runs.
            groups += [self.tenancy.sg_sip_nodes.id, self.tenancy.sg_media.id]
            media = openstack.networking.FloatingIp(
                f"{name}-media",
                pool=self.cfg.cloud.external_network,
                description=f"media (RTP) address of edge node {name}",
                tags=tags("sip-edge", zone, cluster=spec.name, traffic="rtp"),
                opts=self.child,
            )
            labels = media.address.apply(lambda a: {MEDIA_ADDRESS_LABEL: a})
            rtp = self.cfg.edge.rtp_port_range
            reserved = (rtp.min, rtp.max)
        user_data = pulumi.Output.all(self.api_host, self.secrets, labels).apply(
            lambda v: cloudinit.rke2_agent(
                zone=zone,
                api_host=v[0],
                version=spec.rke2_version,
                join_token=v[1][spec.name]["joinToken"],
                mirror=self.tenancy.mirror,
                labels=v[2],
                reserved_ports=reserved,
            )
        )
        _, port = self._node(
            name,
            zone,
            "k8s-worker",
            spec.workers.flavor,
            spec.workers.disk_gb,
            self.worker_group,
            user_data,
            groups,
        )
        if media is not None:
            openstack.networking.FloatingIpAssociate(
                f"{name}-media", floating_ip=media.address, port_id=port.id, opts=self.child
            )
            self.media_addresses[name] = media.address
        return port.all_fixed_ips[0]

    def _sip_edge(self) -> None:
        """Carrier-facing SIP-TLS: TLS passes through to the edge (Kamailio) on the workers.

        Listener 5061 on the floating IP; members are every worker on the edge chart's fixed
        node port (``edge.sipTlsNodePort``, the NodePort the edge release declares), whose
        ``externalTrafficPolicy: Local`` makes only the workers running an edge pod pass the
        TLS-HELLO monitor. TLS ends in Kamailio, which advertises the floating IP on 5061.
        """
        node_port = self.cfg.edge.sip_tls_node_port
        name = f"{self.spec.name}-sip-edge"
        lb = openstack.loadbalancer.LoadBalancer(
            name,
            vip_subnet_id=self.tenancy.zones[self.cfg.zones[0]].subnet.id,
            security_group_ids=[self.tenancy.sg_sip.id],
            tags=tags("sip-edge", cluster=self.spec.name),
            opts=self.child,
        )
        listener = openstack.loadbalancer.Listener(
            name,
            loadbalancer_id=lb.id,
            protocol="TCP",
            protocol_port=SIP_TLS,
            allowed_cidrs=list(self.cfg.network.carrier_cidrs),
            timeout_client_data=SIP_IDLE_TIMEOUT_MS,
            timeout_member_data=SIP_IDLE_TIMEOUT_MS,
            tags=tags("sip-edge", traffic="sip-tls", tls="passthrough"),
            opts=self.child,
        )
        pool = openstack.loadbalancer.Pool(
            name,
            listener_id=listener.id,
            protocol="TCP",
            lb_method="LEAST_CONNECTIONS",
            tags=tags("sip-edge"),
            opts=self.child,
        )
        openstack.loadbalancer.Monitor(
            name,
            pool_id=pool.id,
            type="TLS-HELLO",
            delay=2,
            timeout=1,
            max_retries=2,
            opts=self.child,
        )
        for i, (zone, address) in enumerate(self.worker_addresses):
            openstack.loadbalancer.Member(
                f"{name}-{zone}-{i}",
                pool_id=pool.id,
                address=address,
                protocol_port=node_port,
                subnet_id=self.tenancy.zones[zone].subnet.id,
                tags=tags("sip-edge", zone),
                opts=self.child,
            )
        fip = openstack.networking.FloatingIp(
            name, pool=self.cfg.cloud.external_network, tags=tags("sip-edge"), opts=self.child
        )
        openstack.networking.FloatingIpAssociate(
            name, floating_ip=fip.address, port_id=lb.vip_port_id, opts=self.child
        )
        self.sip_address = fip.address
