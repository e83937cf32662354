"""The artifact and image mirror inside the tenancy, and how every node installs from it.

Where: the bastion. It is the one machine administrators already reach (SSH from the admin
ranges), it has a fixed address in the admin subnet (``AddressPlan.mirror_ip``), and every
node reaches it over the router without any path to the internet. Two services, both TLS:
nginx serves files on 443 (RKE2 release artifacts per version, the custom-CA script, the
pinned add-on charts) and a Docker registry (``docker-registry``) serves images on 5000.
The object store was the other candidate: it holds files well, but not a registry, and an
anonymous-read container is a public container to the guardrails (and to an auditor).
The mirror is needed to build or join a node, never to carry a call: a bastion outage delays
scaling, it does not drop calls.

Pure (no pulumi import): cloud-init (cloudinit.py) and the guardrails read the same URLs.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from samu_infra.addressing import AddressPlan
from samu_infra.config import StackConfig

ARTIFACTS_PORT = 443
REGISTRY_PORT = 5000
#: Where the RKE2 install script reads an air-gapped install from (INSTALL_RKE2_ARTIFACT_PATH).
ARTIFACT_DIR = "/var/lib/rancher/rke2-artifacts"
#: The files of one RKE2 release the install script needs, as published by RKE2's releases.
RKE2_FILES = (
    "install.sh",
    "rke2.linux-amd64.tar.gz",
    "sha256sum-amd64.txt",
    "rke2-images.linux-amd64.tar.zst",
)
#: RKE2's script that derives the intermediate CAs from the custom root CA.
CUSTOM_CA_SCRIPT = "generate-custom-ca-certs.sh"
#: The node trust store entry of the mirror's CA (Debian/Ubuntu layout of the node image).
CA_PATH = "/usr/local/share/ca-certificates/samu-mirror.crt"
MIRROR_ROOT = "/srv/samu-mirror"
MIRROR_TLS_DIR = "/etc/samu-mirror"


@dataclass(frozen=True)
class Mirror:
    """The mirror's address and what it mirrors; ``ca_certificate`` when not in the image."""

    address: str
    registries: tuple[str, ...]
    ca_certificate: str | None = None

    @property
    def base_url(self) -> str:
        return f"https://{self.address}"

    @property
    def registry(self) -> str:
        return f"{self.address}:{REGISTRY_PORT}"

    def rke2_url(self, version: str, file: str) -> str:
        return f"{self.base_url}/rke2/{version}/{file}"

    def tool_url(self, file: str) -> str:
        return f"{self.base_url}/tools/{file}"

    def chart_url(self, chart: str, version: str) -> str:
        return f"{self.base_url}/charts/{chart}-{version}.tgz"


def registries_yaml(mirror: Mirror) -> str:
    """``/etc/rancher/rke2/registries.yaml``: every upstream registry pulls from the mirror.

    RKE2's containerd then asks the mirror first for docker.io/..., registry.k8s.io/...;
    with no route to the internet, nothing else answers: an image missing from the mirror
    fails loudly (ErrImagePull naming it) instead of being fetched from outside.
    """
    endpoint = [f"https://{mirror.registry}"]
    doc: dict[str, Any] = {"mirrors": {r: {"endpoint": endpoint} for r in mirror.registries}}
    if mirror.ca_certificate:
        doc["configs"] = {mirror.registry: {"tls": {"ca_file": CA_PATH}}}
    return yaml.safe_dump(doc, sort_keys=False)


def trust_commands(mirror: Mirror) -> list[str]:
    """Trust the mirror's CA before the first download (only when the image lacks it)."""
    return ["update-ca-certificates"] if mirror.ca_certificate else []


def fetch(url: str, path: str) -> str:
    """One download from the mirror: retried (the bastion may still be booting), TLS verified."""
    return f"curl -sfL --retry 30 --retry-delay 10 --retry-all-errors -o {path} {url}"


def rke2_install_commands(mirror: Mirror, version: str, kind: str) -> list[str]:
    """Download one pinned RKE2 release from the mirror and install it air-gapped."""
    out = [f"mkdir -p {ARTIFACT_DIR}"]
    out += [fetch(mirror.rke2_url(version, f), f"{ARTIFACT_DIR}/{f}") for f in RKE2_FILES]
    out.append(
        f"INSTALL_RKE2_ARTIFACT_PATH={ARTIFACT_DIR} INSTALL_RKE2_VERSION={version} "
        f"INSTALL_RKE2_TYPE={kind} sh {ARTIFACT_DIR}/install.sh"
    )
    return out


def bastion_services(mirror: Mirror) -> tuple[list[tuple[str, str]], list[str]]:
    """(files, commands) that make the bastion serve the mirror (nginx + docker-registry).

    The TLS key and certificate (``tls.key``/``tls.crt`` in /etc/samu-mirror) and the mirror's
    content are copied by the platform engineer (docs/infrastructure.md): no secret in the
    user data, and the content is the release the engineer reviewed.
    """
    nginx = "\n".join(
        [
            "server {",
            f"    listen {ARTIFACTS_PORT} ssl;",
            f"    ssl_certificate {MIRROR_TLS_DIR}/tls.crt;",
            f"    ssl_certificate_key {MIRROR_TLS_DIR}/tls.key;",
            f"    root {MIRROR_ROOT}/files;",
            "    autoindex off;",
            "}",
        ]
    )
    registry = yaml.safe_dump(
        {
            "version": 0.1,
            "storage": {"filesystem": {"rootdirectory": f"{MIRROR_ROOT}/registry"}},
            "http": {
                "addr": f":{REGISTRY_PORT}",
                "tls": {
                    "certificate": f"{MIRROR_TLS_DIR}/tls.crt",
                    "key": f"{MIRROR_TLS_DIR}/tls.key",
                },
            },
        },
        sort_keys=False,
    )
    files = [
        ("/etc/nginx/sites-enabled/samu-mirror.conf", nginx + "\n"),
        ("/etc/docker/registry/config.yml", registry),
    ]
    commands = [
        f"mkdir -p {MIRROR_ROOT}/files {MIRROR_ROOT}/registry {MIRROR_TLS_DIR}",
        "systemctl enable nginx docker-registry",
        # Start once the engineer has put the certificate in place (docs): until then, fail
        # visibly in the journal rather than serve without TLS.
        f"test -s {MIRROR_TLS_DIR}/tls.crt && systemctl restart nginx docker-registry"
        " || echo 'samu mirror: copy tls.crt/tls.key to /etc/samu-mirror' | systemd-cat -p err",
    ]
    return files, commands


def default_registries() -> tuple[str, ...]:
    """Registries the platform's images come from (RKE2 system images, add-ons, our own)."""
    return ("docker.io", "registry.k8s.io", "quay.io", "registry.rancher.com")


def with_defaults(extra: Iterable[str]) -> tuple[str, ...]:
    out = list(default_registries())
    out += [r for r in extra if r not in out]
    return tuple(out)


def stack_mirror(cfg: StackConfig, plan: AddressPlan) -> Mirror:
    """The stack's mirror: the bastion's fixed address, the registries it mirrors, its CA."""
    return Mirror(
        address=plan.mirror_ip(),
        registries=with_defaults(cfg.mirror.registries),
        ca_certificate=cfg.mirror.ca_certificate,
    )
