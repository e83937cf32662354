"""cloud-init user-data for every node, as pure functions of plain values.

Kubernetes distribution: **RKE2**, not kubeadm, because
- it ships a CIS-hardened profile (``profile: cis``), SELinux/AppArmor and audit policy
  defaults, FIPS-capable builds: the baseline SecNumCloud/HDS auditors ask for, without
  hand-maintained kubeadm patches;
- a server joins the HA control plane (embedded etcd) with one shared token and one config
  file, so cloud-init stays declarative and idempotent (kubeadm needs ``init`` on one node,
  then certificate-key upload and ``join`` commands that expire within hours);
- one tarball carries kubelet, containerd and the control plane: air-gapped installs from a
  mirror are one variable (``INSTALL_RKE2_ARTIFACT_PATH``), no per-distro package repos
  (mirror.py: the bastion serves the artifacts and the images; nothing comes from outside).
The cluster CA comes from the stack's secrets (RKE2 custom CA), so Pulumi can write the
kubeconfig before any node exists; the admin credential is a static token.
"""

from typing import Any

import yaml

from samu_infra.mirror import (
    CA_PATH,
    CUSTOM_CA_SCRIPT,
    Mirror,
    bastion_services,
    fetch,
    registries_yaml,
    rke2_install_commands,
    trust_commands,
)
from samu_infra.zones import ZONE_LABEL  # its values are the stack's zone names

RKE2_TLS_DIR = "/var/lib/rancher/rke2/server/tls"

TIER_LABEL = "samu-platform.io/tier"


def _cloud_config(doc: dict[str, Any]) -> str:
    return "#cloud-config\n" + yaml.safe_dump(doc, sort_keys=False, width=1000)


def _file(path: str, content: str, mode: str = "0600") -> dict[str, str]:
    return {"path": path, "content": content, "permissions": mode, "owner": "root:root"}


def _node_files(mirror: Mirror) -> list[dict[str, str]]:
    """Files every Kubernetes node needs before RKE2 starts: the registry mirror (and its CA)."""
    files = [_file("/etc/rancher/rke2/registries.yaml", registries_yaml(mirror))]
    if mirror.ca_certificate:
        files.append(_file(CA_PATH, mirror.ca_certificate, "0644"))
    return files


def _rke2_install(mirror: Mirror, version: str, kind: str) -> list[str]:
    """Air-gapped: the pinned release from the tenancy's mirror, never from the internet."""
    return [
        *trust_commands(mirror),
        *rke2_install_commands(mirror, version, kind),
        # profile: cis refuses to start without the kernel parameters RKE2 ships for it.
        "cp -f /usr/local/share/rke2/rke2-cis-sysctl.conf /etc/sysctl.d/60-rke2-cis.conf",
        "systemctl restart systemd-sysctl",
        f"systemctl enable --now rke2-{kind}.service",
    ]


def rke2_server(
    *,
    zone: str,
    api_host: str,
    bootstrap: bool,
    version: str,
    join_token: str,
    admin_token: str,
    ca_cert: str,
    ca_key: str,
    mirror: Mirror,
    pod_cidr: str,
    service_cidr: str,
    manifests: list[tuple[str, str]],
) -> str:
    """A control-plane node. The bootstrap node starts etcd; the others join through the VIP.

    ``manifests``: (path, content) of the add-ons RKE2 applies from its manifests directory
    (every server carries them, so a rebuilt bootstrap node still has them).
    """
    config: dict[str, Any] = {
        "token": join_token,
        "tls-san": [api_host],
        "profile": "cis",
        "cluster-cidr": pod_cidr,
        "service-cidr": service_cidr,
        "node-label": [f"{ZONE_LABEL}={zone}", f"{TIER_LABEL}=k8s-control"],
        "node-taint": ["node-role.kubernetes.io/control-plane=true:NoSchedule"],
        "kube-apiserver-arg": ["token-auth-file=/etc/rancher/rke2/admin-token.csv"],
        "etcd-snapshot-schedule-cron": "0 */6 * * *",
    }
    if not bootstrap:
        config["server"] = f"https://{api_host}:9345"
    files = [
        _file("/etc/rancher/rke2/config.yaml", yaml.safe_dump(config, sort_keys=False)),
        _file(
            "/etc/rancher/rke2/admin-token.csv",
            f"{admin_token},samu-platform-admin,samu-platform-admin,system:masters\n",
        ),
        _file(f"{RKE2_TLS_DIR}/root-ca.pem", ca_cert, "0644"),
        _file(f"{RKE2_TLS_DIR}/root-ca.key", ca_key),
        *_node_files(mirror),
        *[_file(path, content) for path, content in manifests],
    ]
    script = f"/usr/local/sbin/{CUSTOM_CA_SCRIPT}"
    commands = [
        *trust_commands(mirror),
        # The script RKE2's docs name derives the intermediate CAs from the root CA above
        # (docs.rke2.io/security/certificates#using-custom-ca-certificates), from the mirror.
        fetch(mirror.tool_url(CUSTOM_CA_SCRIPT), script),
        f"PRODUCT=rke2 bash {script}",
        "useradd -r -c 'etcd user' -s /sbin/nologin -M etcd || true",
        *_rke2_install(mirror, version, "server"),
    ]
    return _cloud_config({"write_files": files, "runcmd": commands})


def rke2_agent(
    *,
    zone: str,
    api_host: str,
    version: str,
    join_token: str,
    mirror: Mirror,
    labels: dict[str, str] | None = None,
    reserved_ports: tuple[int, int] | None = None,
) -> str:
    """A worker node of the zone's pool, labelled with its zone for the PBX spread.

    ``reserved_ports``: a range the kernel must never hand out as an ephemeral source port
    (the edge's RTP range: a local connection on it would take a call's media port).
    """
    node_labels = [f"{ZONE_LABEL}={zone}", f"{TIER_LABEL}=k8s-worker"]
    node_labels += [f"{k}={v}" for k, v in (labels or {}).items()]
    config = {
        "server": f"https://{api_host}:9345",
        "token": join_token,
        "profile": "cis",
        "node-label": node_labels,
    }
    files = [
        _file("/etc/rancher/rke2/config.yaml", yaml.safe_dump(config, sort_keys=False)),
        *_node_files(mirror),
    ]
    if reserved_ports:
        low, high = reserved_ports
        files.append(
            _file(
                "/etc/sysctl.d/70-samu-rtp.conf",
                f"net.ipv4.ip_local_reserved_ports = {low}-{high}\n",
                "0644",
            )
        )
    return _cloud_config({"write_files": files, "runcmd": _rke2_install(mirror, version, "agent")})


def oracle_node(*, role: str, zone: str, interconnect_mtu: int, asm_disk_count: int) -> str:
    """OS preparation only: the Grid Infrastructure / Database install is out of scope.

    It sets what Oracle's installer checks and what Pulumi must fix before it runs:
    kernel parameters, limits, the interconnect MTU, hugepages, chrony, and stable ASM
    device names (udev rules over the virtio serials of the shared volumes).
    """
    sysctl = "\n".join(
        [
            "fs.aio-max-nr = 1048576",
            "fs.file-max = 6815744",
            "kernel.shmmni = 4096",
            "kernel.sem = 250 32000 100 128",
            "net.ipv4.ip_local_port_range = 9000 65500",
            "net.core.rmem_default = 262144",
            "net.core.rmem_max = 4194304",
            "net.core.wmem_default = 262144",
            "net.core.wmem_max = 1048576",
            "net.ipv4.conf.all.rp_filter = 2",
            "vm.nr_hugepages = 16384",
        ]
    )
    limits = "\n".join(
        f"{who} {kind} {item} {value}"
        for who in ("oracle", "grid")
        for kind, item, value in [
            ("soft", "nofile", 1024),
            ("hard", "nofile", 65536),
            ("soft", "nproc", 16384),
            ("hard", "nproc", 16384),
            ("soft", "memlock", "unlimited"),
            ("hard", "memlock", "unlimited"),
        ]
    )
    udev = "\n".join(
        f'KERNEL=="vd*", ENV{{ID_SERIAL}}=="asm-{i:02d}*", SYMLINK+="oracleasm/asm{i:02d}", '
        'OWNER="grid", GROUP="asmadmin", MODE="0660"'
        for i in range(asm_disk_count)
    )
    files = [
        _file("/etc/sysctl.d/97-oracle.conf", sysctl + "\n", "0644"),
        _file("/etc/security/limits.d/97-oracle.conf", limits + "\n", "0644"),
        _file("/etc/udev/rules.d/99-oracle-asm.rules", udev + "\n", "0644"),
        _file("/etc/samu-platform/role", f"role={role}\nzone={zone}\n", "0644"),
    ]
    commands = [
        "groupadd -g 54321 oinstall; groupadd -g 54327 asmdba; groupadd -g 54329 asmadmin",
        "useradd -u 54331 -g oinstall -G asmdba,asmadmin grid || true",
        "useradd -u 54321 -g oinstall -G asmdba oracle || true",
        # Neutron advertises the interconnect's MTU over DHCP; fail loudly if it did not apply.
        f"ip -o link | grep -q 'mtu {interconnect_mtu}' || echo 'interconnect MTU {interconnect_mtu}"
        " missing' | systemd-cat -p err -t samu-platform",
        "sysctl --system && udevadm control --reload && udevadm trigger",
        "systemctl enable --now chronyd",
        "echo 'Oracle Grid Infrastructure / Database install: out of scope of this program'"
        " > /etc/motd",
    ]
    return _cloud_config(
        {
            "package_upgrade": True,
            # Oracle's preinstall package sets the rest of what the installer checks.
            "packages": ["chrony", "oracle-database-preinstall-19c"],
            "write_files": files,
            "runcmd": commands,
        }
    )


def bastion(*, admin_cidrs: list[str], mirror: Mirror) -> str:
    """SSH only, keys only, every session logged: the single way in for administrators.

    It also serves the tenancy's mirror (mirror.py) to the nodes, from inside the supernet.
    Its packages come from the image's package sources (the provider's mirror).
    """
    sshd = "\n".join(
        [
            "PasswordAuthentication no",
            "PermitRootLogin no",
            "AllowAgentForwarding no",
            "LogLevel VERBOSE",
            "ClientAliveInterval 300",
        ]
    )
    files = [
        _file("/etc/ssh/sshd_config.d/10-samu.conf", sshd + "\n", "0644"),
        _file("/etc/samu-platform/admin-cidrs", "\n".join(admin_cidrs) + "\n", "0644"),
    ]
    mirror_files, mirror_commands = bastion_services(mirror)
    files += [_file(path, content, "0644") for path, content in mirror_files]
    return _cloud_config(
        {
            "package_upgrade": True,
            "packages": ["auditd", "nginx", "docker-registry"],
            "write_files": files,
            "runcmd": [
                "systemctl enable --now auditd",
                "systemctl restart ssh",
                *mirror_commands,
            ],
        }
    )
