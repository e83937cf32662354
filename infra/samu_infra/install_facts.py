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


def edge_media(inv: Inventory) -> dict[str, Any]:
    """The edge's media addresses (floating IPs per node) and the RTP rules admitting them."""
    fips = [f for f in inv.of_kind("FloatingIp") if f.marks().get("samu-traffic") == "rtp"]
    groups = {
        g.id for g in inv.of_kind("SecGroup") if g.marks().get("samu-role") == "sip-edge-media"
    }
    rules = [r for r in inv.of_kind("SecGroupRule") if r.inputs.get("securityGroupId") in groups]
    return {
        "addresses": len(fips),
        "zones": sorted({f.zone for f in fips if f.zone}),
        "rtp": sorted(
            {
                f"{int(r.inputs['portRangeMin'])}-{int(r.inputs['portRangeMax'])}/"
                f"{r.inputs.get('protocol')} from {r.inputs.get('remoteIpPrefix')}"
                for r in rules
            }
        ),
    }


def recording_store(inv: Inventory) -> dict[str, Any]:
    """The recording store's credential (its access rules) and where its Secret goes."""
    creds = [c for c in inv.of_kind("ApplicationCredential") if c.name == "recordings-shipper"]
    secrets = [
        r
        for r in inv.resources
        if r.type == "kubernetes:core/v1:Secret"
        and (r.inputs.get("metadata") or {}).get("name") == "samu-recordings-store"
    ]
    rules = [rule for c in creds for rule in c.inputs.get("accessRules") or []]
    return {
        "credential": creds[0].inputs.get("name") if creds else None,
        "access": sorted({f"{r['method']} {r['path']}" for r in rules}),
        "secretNamespaces": sorted(
            str((s.inputs.get("metadata") or {}).get("namespace")) for s in secrets
        ),
        "containers": sorted(c.inputs.get("name", c.name) for c in inv.of_kind("Container")),
    }


def render_edge_and_store(media: dict[str, Any], rec: dict[str, Any]) -> list[str]:
    lines = [
        f"Edge media: {media['addresses']} floating IPs (one per edge node, zones "
        f"{', '.join(media['zones'])}); RTP admitted: {'; '.join(media['rtp']) or 'none'}",
        f"Recording store: credential {rec['credential']} ({', '.join(rec['access'])}; no "
        f"DELETE) -> Secret samu-recordings-store in {', '.join(rec['secretNamespaces']) or '-'}; "
        f"containers declared: {', '.join(rec['containers']) or '-'} (others: the shipper "
        "creates them on first write)",
    ]
    return lines
