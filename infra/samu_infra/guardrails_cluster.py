"""Guardrails over what the clusters' nodes install: from the tenancy only, storage encrypted.

Both read the nodes' declared cloud-init (userdata.py), so they judge what a node would run:
- every URL a node fetches (RKE2, its CA script, the add-on charts, the registry mirrors)
  is an address inside the tenancy's subnets, a name of one of its DNS zones, or the cloud's
  own identity endpoint (the qualified provider's API, where the CSI driver logs in): an install
  that reaches the internet is neither air-gapped nor reproducible;
- every PVC the operator renders for the declared tenants names a StorageClass that every
  node of the operator's cluster declares, bound to an encrypted volume type, zone-aware.
Pure (no pulumi import), like guardrails.py.
"""

import ipaddress
from collections import defaultdict
from typing import Any
from urllib.parse import urlsplit

from samu_infra import userdata
from samu_infra.addons import DEFAULT_CLASS_ANNOTATION, MANIFESTS_DIR
from samu_infra.inventory import Inventory
from samu_infra.labels import ENCRYPTION_SPEC_KEY, ENCRYPTION_SPEC_VALUE
from samu_operator.core.desired import STORAGE_CLASS, STORAGE_CLASS_ENV, desired_objects
from samu_operator.model.errors import TenantInvalid, validate_tenant

OPERATOR_RELEASE = "samu-operator"


def _inside(host: str, subnets: list[ipaddress.IPv4Network], zones: list[str]) -> bool:
    try:
        address = ipaddress.IPv4Address(host)
    except ValueError:
        return any(host == z or host.endswith("." + z) for z in zones)
    return any(address in net for net in subnets)


def installs_from_tenancy(inv: Inventory) -> list[str]:
    """Nodes install from inside the tenancy: every URL in cloud-init is a tenancy address."""
    subnets = [
        ipaddress.IPv4Network(s.inputs["cidr"])
        for s in inv.of_kind("Subnet")
        if s.inputs.get("cidr")
    ]
    zones = [str(z.inputs.get("name", "")).rstrip(".") for z in inv.of_kind("Zone")]
    # The cloud's own identity endpoint (the CSI driver's auth URL) is the qualified
    # provider's API, not the internet: its host is allowed, nothing else of its domain.
    zones += [
        urlsplit(str(p.inputs.get("authUrl"))).hostname or ""
        for p in inv.resources
        if p.type == "pulumi:providers:openstack" and p.inputs.get("authUrl")
    ]
    out = []
    for server in inv.of_kind("Instance"):
        for url in userdata.urls(server.inputs.get("userData")):
            host = urlsplit(url).hostname or ""
            if not _inside(host, subnets, zones):
                out.append(
                    f"instance {server.name}'s cloud-init fetches {url}: outside the tenancy; "
                    "serve it from the mirror (the bastion) and fetch it from there"
                )
    return out


def _encrypted_types(inv: Inventory) -> set[str]:
    return {
        str(r.inputs.get("name") or r.name)
        for r in inv.of_kind("VolumeTypeV3")
        if (r.inputs.get("extraSpecs") or {}).get(ENCRYPTION_SPEC_KEY) == ENCRYPTION_SPEC_VALUE
    }


def _classes_by_cluster(inv: Inventory) -> dict[str, list[dict[str, dict[str, Any]]]]:
    """cluster -> per control-plane node, the StorageClasses its add-on manifests declare."""
    out: dict[str, list[dict[str, dict[str, Any]]]] = defaultdict(list)
    for server in inv.of_kind("Instance"):
        if server.tier != "k8s-control":
            continue
        found = {
            str(obj.get("metadata", {}).get("name")): obj
            for obj in userdata.manifests(server.inputs.get("userData"), MANIFESTS_DIR)
            if obj.get("kind") == "StorageClass"
        }
        out[server.marks().get("samu-cluster", "")].append(found)
    return out


def _operator(inv: Inventory) -> tuple[str | None, str]:
    """(the operator's cluster, the StorageClass its chart values give it)."""
    cluster = None
    for r in inv.resources:
        if r.type == "pulumi:providers:kubernetes" and r.name.endswith("-k8s"):
            cluster = r.name.removesuffix("-k8s")
    storage_class = STORAGE_CLASS
    for r in inv.resources:
        if r.kind == "Release" and r.name == OPERATOR_RELEASE:
            env = ((r.inputs.get("values") or {}).get("operator") or {}).get("extraEnv") or []
            for item in env:
                if isinstance(item, dict) and item.get("name") == STORAGE_CLASS_ENV:
                    storage_class = str(item.get("value") or STORAGE_CLASS)
    return cluster, storage_class


def _rendered_pvc_classes(inv: Inventory, storage_class: str) -> dict[str, set[str]]:
    """StorageClass -> tenants whose PVCs name it, as the operator renders the tenants."""
    out: dict[str, set[str]] = defaultdict(set)
    for r in inv.resources:
        if r.kind != "SamuTenant":
            continue
        doc = {"apiVersion": r.inputs.get("apiVersion"), "kind": "SamuTenant", **dict(r.inputs)}
        try:
            tenant = validate_tenant(doc)
        except TenantInvalid:
            continue  # refused before any resource by the stack check (its errors name keys)
        for obj in desired_objects(tenant, storage_class=storage_class):
            if obj["kind"] == "PersistentVolumeClaim":
                out[str(obj["spec"].get("storageClassName"))].add(tenant.name)
    return out


def _class_issues(cluster: str, name: str, sc: dict[str, Any], encrypted: set[str]) -> list[str]:
    out = []
    volume_type = (sc.get("parameters") or {}).get("type")
    if volume_type not in encrypted:
        out.append(
            f"StorageClass {name} of cluster {cluster} creates volumes of type {volume_type!r}: "
            f"bind it to an encrypted volume type {sorted(encrypted)}"
        )
    if sc.get("volumeBindingMode") != "WaitForFirstConsumer" or not sc.get("allowedTopologies"):
        out.append(
            f"StorageClass {name} of cluster {cluster} is not zone-aware: set volumeBindingMode "
            "WaitForFirstConsumer and allowedTopologies over the zones"
        )
    return out


def recordings_storage_encrypted(inv: Inventory) -> list[str]:
    """Every PVC the operator renders names an encrypted, zone-aware StorageClass of its cluster."""
    encrypted = _encrypted_types(inv)
    by_cluster = _classes_by_cluster(inv)
    out = []
    for cluster, nodes in sorted(by_cluster.items()):
        found: list[str] = []
        for node in nodes:  # each server applies its own copy: judge every copy
            for name, sc in sorted(node.items()):
                found += _class_issues(cluster, name, sc, encrypted)
            defaults = [
                n
                for n, sc in node.items()
                if (sc.get("metadata", {}).get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION)
                == "true"
            ]
            if len(defaults) != 1:
                found.append(
                    f"cluster {cluster} has {len(defaults)} default StorageClasses: "
                    "declare exactly one"
                )
        out += list(dict.fromkeys(found))
    cluster, storage_class = _operator(inv)
    if cluster is None:
        return out
    nodes = by_cluster.get(cluster, [])
    wanted = _rendered_pvc_classes(inv, storage_class) or {storage_class: set()}
    for name, tenants in sorted(wanted.items()):
        who = f"the PVCs of {sorted(tenants)}" if tenants else "the operator's PVCs"
        missing = [i for i, node in enumerate(nodes) if name not in node]
        if not nodes or missing:
            out.append(
                f"{who} name StorageClass {name!r}, which cluster {cluster} does not declare on "
                "every control-plane node: declare it (addons.py) or set the operator's "
                f"{STORAGE_CLASS_ENV} to a class it declares"
            )
    return out
