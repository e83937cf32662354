"""Typed stack configuration, parsed from ``stacks/Pulumi.<stack>.yaml``.

The Pulumi SDK has no loader for ``stackConfigDir``, and the offline plan has no engine to
hand it config, so the project reads the stack file itself. Everything is checked here,
before any resource is declared: a bad stack never half-declares a tenancy.
Secrets exist only as ``secure:`` values; a clear-text secret is an error, not a warning.
"""

import ipaddress
import re
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

PROJECT = "samu-platform"

#: Regions the platform may run in: SecNumCloud-qualified offers located in the EEA.
#: Region -> ISO country. A region is added here only after its qualification is checked.
QUALIFIED_REGIONS: dict[str, str] = {
    "fr-par-1": "FR",
    "fr-par-2": "FR",
    "fr-lil-1": "FR",
    "fr-sbg-1": "FR",
    "fr-gra-1": "FR",
    "fr-rbx-1": "FR",
}
#: EEA countries (EU 27 + Iceland, Liechtenstein, Norway): health data stays inside.
EEA = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
        "IS",
        "LI",
        "NO",
    ]
)

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


class Model(BaseModel):
    """camelCase keys (as Pulumi config is written), unknown keys refused, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


def _cidr(value: Any) -> str:
    try:
        net = ipaddress.IPv4Network(str(value), strict=True)
    except ValueError as exc:
        raise ValueError(
            f"{value!r} is not an IPv4 CIDR ({exc}): write a network such as 10.40.0.0/16 "
            "with no host bits set"
        ) from None
    return str(net)


def _dns_label(value: Any) -> str:
    if not isinstance(value, str) or not _DNS_LABEL.match(value):
        raise ValueError(f"{value!r} is not a DNS label: use lower-case letters, digits and '-'")
    return value


class Secure(Model):
    """A ``{secure: v1:...}`` value: ciphertext only Pulumi's secrets provider can open."""

    secure: str = Field(min_length=1)


def _secure(value: Any) -> Any:
    if isinstance(value, str | int | float):
        raise ValueError(
            "clear-text secret: remove it from the stack file and set it with "
            "'pulumi config set --secret --path <key> <value>' (it is stored as secure:)"
        )
    return value


Cidr = Annotated[str, BeforeValidator(_cidr)]
DnsLabel = Annotated[str, BeforeValidator(_dns_label)]
SecureValue = Annotated[Secure, BeforeValidator(_secure)]


class Cloud(Model):
    region: str
    auth_url: str = Field(pattern=r"^https://", description="Keystone v3 endpoint, TLS only")
    zones: list[str] = Field(description="availability zones; three at least")
    external_network: str
    image: str = Field(description="Glance image name of the node OS")
    dns_zone: str = Field(pattern=r"^([a-z0-9-]+\.)+$", description="Designate zone, ending '.'")


class Network(Model):
    supernet: Cidr
    admin_cidrs: list[Cidr] = Field(min_length=1, description="where admins reach the bastion")
    carrier_cidrs: list[Cidr] = Field(min_length=1, description="the OTN's SIP trunk ranges")
    pod_cidr: Cidr = Field(description="the clusters' pod range (RKE2 cluster-cidr)")
    service_cidr: Cidr = Field(description="the clusters' service range (RKE2 service-cidr)")
    interconnect_mtu: int = Field(default=9000, ge=1500, le=9216)
    dns_nameservers: list[str] = Field(default_factory=list)


class Bastion(Model):
    flavor: str
    zone: str | None = None


class WorkerPool(Model):
    per_zone: int = Field(ge=1, le=100)
    flavor: str
    disk_gb: int = Field(default=100, ge=20, le=4096)


class Cluster(Model):
    name: DnsLabel
    rke2_version: str = Field(pattern=r"^v1\.\d+\.\d+\+rke2r\d+$")
    control_plane_flavor: str
    control_plane_disk_gb: int = Field(default=100, ge=20, le=4096)
    workers: WorkerPool
    sip_edge: bool = Field(default=False, description="carrier-facing SIP-TLS load balancer")


class AsmDisks(Model):
    count: int = Field(ge=1, le=32)
    size_gb: int = Field(ge=10, le=16384)


class Oracle(Model):
    nodes: int = Field(ge=2, le=8, description="RAC nodes (anti-affinity, distinct zones)")
    image: str = Field(description="Glance image certified for Oracle (Oracle Linux / RHEL)")
    flavor: str
    standby_zone: str
    standby_flavor: str
    asm_disks: AsmDisks
    standby_disk_gb: int = Field(ge=10, le=65536)
    scan_name: DnsLabel = "rac-scan"


class Recordings(Model):
    storage_policy: str = Field(description="Swift policy replicated over zones, encrypted")
    replicated_zones: int = Field(ge=2, le=5)
    encrypted: bool
    retention_days: int = Field(ge=30, le=36500)


class OperatorRelease(Model):
    cluster: str
    chart: str = "helm/samu-operator"
    namespace: DnsLabel = "samu-system"
    values: dict[str, Any] = Field(default_factory=dict)


#: Kubernetes' default node port range (RKE2 keeps it): a fixed node port must sit inside.
NODE_PORT_RANGE = (30000, 32767)


class EdgeTls(Model):
    """The carrier-facing certificate of the SIP edge (Secret ``sip.tls.secretName``).

    By default the program writes that Secret (kubernetes.io/tls) from these two secure
    values, before the edge release. ``existingSecret: true`` leaves it to another tool
    (cert-manager's Certificate, an external secrets operator): then give neither value.
    """

    existing_secret: bool = False
    certificate: Annotated[Secure | None, BeforeValidator(_secure)] = Field(
        default=None, description="PEM, the full chain the carrier must trust (tls.crt)"
    )
    private_key: Annotated[Secure | None, BeforeValidator(_secure)] = Field(
        default=None, description="PEM private key of that certificate (tls.key)"
    )


class PortRange(Model):
    """An inclusive UDP port range (``{min: 40000, max: 49999}``)."""

    min: int = Field(ge=1024, le=65535)
    max: int = Field(ge=1024, le=65535)


class EdgeRelease(Model):
    """The samu-edge chart, released on the operator's cluster after the operator (CRD).

    Its carrier ranges, TLS port, node port and advertised address come from the stack
    (edge.py); ``values`` holds the rest and is checked against the chart's values.schema.json.
    ``sipTlsNodePort`` is the one number the SIP edge load balancer's members, the workers'
    security group and the chart's NodePort Service all use (edge.py, cluster.py, tenancy.py).
    """

    chart: str = "helm/samu-edge"
    namespace: DnsLabel = "samu-edge"
    sip_tls_node_port: int = Field(default=30561, ge=NODE_PORT_RANGE[0], le=NODE_PORT_RANGE[1])
    #: The media (RTP/RTCP) ports rtpengine binds on the edge nodes, reached by the carrier on
    #: each node's floating IP. Outside the node port range (a UDP NodePort there would take
    #: the packets) and reserved from the kernel's ephemeral ports on those nodes.
    rtp_port_range: PortRange = Field(default_factory=lambda: PortRange(min=40000, max=49999))
    tls: EdgeTls = Field(default_factory=EdgeTls)
    values: dict[str, Any] = Field(default_factory=dict)


class MirrorConfig(Model):
    """The tenancy's mirror (served by the bastion, see mirror.py): what it mirrors, its CA.

    ``registries``: upstream registries whose images the nodes pull from the mirror, besides
    the defaults (docker.io, registry.k8s.io, quay.io, registry.rancher.com): add the one the
    platform's own images come from. ``caCertificate``: the PEM of the CA that signed the
    mirror's certificate, when the node image does not trust it already (public, not secret).
    """

    registries: list[str] = Field(default_factory=list)
    ca_certificate: str | None = Field(default=None, pattern=r"^-----BEGIN CERTIFICATE-----")


class ClusterSecrets(Model):
    join_token: SecureValue
    admin_token: SecureValue
    ca_cert: SecureValue
    ca_key: SecureValue


class StackConfig(Model):
    """Every ``samu-platform:*`` key of a stack file, typed."""

    cloud: Cloud
    network: Network
    ssh_public_key: str = Field(pattern=r"^(ssh-ed25519|ecdsa-sha2-nistp\d+|ssh-rsa) ")
    bastion: Bastion
    clusters: list[Cluster] = Field(min_length=1)
    oracle: Oracle
    recordings: Recordings
    operator: OperatorRelease
    edge: EdgeRelease = Field(default_factory=EdgeRelease)
    mirror: MirrorConfig = Field(default_factory=MirrorConfig)
    tenants: list[dict[str, Any]] = Field(default_factory=list)
    oracle_admin_password: SecureValue
    cluster_secrets: dict[str, ClusterSecrets]

    @property
    def zones(self) -> list[str]:
        return list(self.cloud.zones)

    @property
    def bastion_zone(self) -> str:
        return self.bastion.zone or self.cloud.zones[0]
