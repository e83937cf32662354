"""What each cluster installs, read back from its nodes' cloud-init, for the plan to show.

Pure. Only facts that are not secret leave here (versions, URLs, ranges, class names): the
user data itself also carries join tokens and credentials, and never reaches the plan.
"""

from typing import Any

import yaml

from samu_infra import userdata
from samu_infra.addons import MANIFESTS_DIR
from samu_infra.inventory import Inventory
from samu_infra.mirror import ARTIFACT_DIR

CONFIG_PATH = "/etc/rancher/rke2/config.yaml"
REGISTRIES_PATH = "/etc/rancher/rke2/registries.yaml"


def _cluster_facts(user_data: Any) -> dict[str, Any]:
    files = userdata.files(user_data)
    config = yaml.safe_load(files.get(CONFIG_PATH, "")) or {}
    registries = yaml.safe_load(files.get(REGISTRIES_PATH, "")) or {}
    mirrors = registries.get("mirrors") or {}
    endpoints = sorted({e for m in mirrors.values() for e in m.get("endpoint") or []})
    artifacts = sorted({u.rsplit("/", 1)[0] for u in userdata.urls(user_data) if "/rke2/" in u})
    addons, classes = [], []
    for obj in userdata.manifests(user_data, MANIFESTS_DIR):
        if obj.get("kind") == "HelmChart":
            addons.append({"name": obj["metadata"]["name"], "chart": obj["spec"]["chart"]})
        elif obj.get("kind") == "StorageClass":
            topo = obj.get("allowedTopologies") or [{}]
            zones = [v for e in topo[0].get("matchLabelExpressions") or [] for v in e["values"]]
            classes.append(
                {
                    "name": obj["metadata"]["name"],
                    "volumeType": (obj.get("parameters") or {}).get("type"),
                    "bindingMode": obj.get("volumeBindingMode"),
                    "reclaimPolicy": obj.get("reclaimPolicy"),
                    "zones": zones,
                }
            )
    return {
        "podCidr": config.get("cluster-cidr"),
        "serviceCidr": config.get("service-cidr"),
        "artifacts": artifacts,
        "artifactDir": ARTIFACT_DIR,
        "registryMirror": endpoints,
        "mirroredRegistries": sorted(mirrors),
        "addons": addons,
        "storageClasses": classes,
    }


def cluster_installs(inv: Inventory) -> dict[str, dict[str, Any]]:
    """cluster -> what its first control-plane node installs (every server carries the same)."""
    out: dict[str, dict[str, Any]] = {}
    for server in inv.of_kind("Instance"):
        cluster = server.marks().get("samu-cluster")
        if server.tier == "k8s-control" and cluster and cluster not in out:
            out[cluster] = _cluster_facts(server.inputs.get("userData"))
    return dict(sorted(out.items()))


def render_installs(installs: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["Cluster installs (air-gapped, from the tenancy's mirror):"]
    for cluster, f in installs.items():
        lines.append(
            f"  {cluster}: RKE2 from {', '.join(f['artifacts']) or '-'}; pods {f['podCidr']}, "
            f"services {f['serviceCidr']}"
        )
        lines.append(
            f"    images: {', '.join(f['mirroredRegistries'])} -> {', '.join(f['registryMirror'])}"
        )
        for addon in f["addons"]:
            lines.append(f"    add-on {addon['name']}: {addon['chart']}")
        for sc in f["storageClasses"]:
            lines.append(
                f"    StorageClass {sc['name']}: volume type {sc['volumeType']}, "
                f"{sc['bindingMode']}, {sc['reclaimPolicy']}, zones {', '.join(sc['zones'])}"
            )
    return lines
