"""Cluster add-ons every cluster gets from its control plane: Cinder CSI and the StorageClass.

RKE2 ships no storage driver for OpenStack, so without these every PVC (the PBX's recording
volumes first) stays Pending. They are written as files into RKE2's manifests directory,
which RKE2 applies itself on start and on change (docs.rke2.io/helm): a HelmChart for the
Cinder CSI chart, pinned and fetched from the tenancy's mirror, its cloud config Secret
(an application credential restricted to Cinder and Nova), and the default StorageClass.

The StorageClass is the operator's (``samu_operator.core.desired.STORAGE_CLASS``): bound to
the tenancy's encrypted volume type, ``Retain`` (a deleted claim never deletes a recording),
``WaitForFirstConsumer`` and ``allowedTopologies`` over the stack's zones, so a PBX's volume is
created in the zone its pod is scheduled to (a volume in another zone would never attach).
Pure (no pulumi import).
"""

from typing import Any

import yaml

from samu_infra.mirror import Mirror
from samu_operator.core.desired import STORAGE_CLASS

MANIFESTS_DIR = "/var/lib/rancher/rke2/server/manifests"
CSI_CHART = "openstack-cinder-csi"
#: Pinned: the chart of cloud-provider-openstack's release matching Kubernetes 1.31.
CSI_CHART_VERSION = "2.31.0"
CSI_PROVISIONER = "cinder.csi.openstack.org"
CSI_ZONE_KEY = "topology.cinder.csi.openstack.org/zone"
CSI_SECRET = "cinder-csi-cloud-config"
CSI_NAMESPACE = "kube-system"
DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"


def cloud_conf(auth_url: str, region: str, credential_id: str, credential_secret: str) -> str:
    """cloud.conf of the CSI driver: an application credential, never a user's password."""
    return "\n".join(
        [
            "[Global]",
            f"auth-url = {auth_url}",
            f"region = {region}",
            f"application-credential-id = {credential_id}",
            f"application-credential-secret = {credential_secret}",
            "[BlockStorage]",
            # Nova and Cinder zones have the same names in this tenancy (docs: to confirm).
            "ignore-volume-az = false",
            "",
        ]
    )


#: What the CSI driver calls, and nothing else: Keystone access rules on its credential.
_CSI_CALLS = {
    "volumev3": (
        "/v3/*/volumes",
        "/v3/*/volumes/**",
        "/v3/*/snapshots",
        "/v3/*/snapshots/**",
        "/v3/*/os-availability-zone",
    ),
    "compute": ("/v2.1/servers/*", "/v2.1/servers/*/os-volume_attachments/**"),
}


def csi_access_rules() -> list[dict[str, str]]:
    """Access rules of the CSI driver's application credential: volumes and attachments only."""
    return [
        {"service": service, "method": method, "path": path}
        for service, paths in _CSI_CALLS.items()
        for path in paths
        for method in ("GET", "POST", "PUT", "DELETE")
    ]


def csi_secret(conf: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": CSI_SECRET, "namespace": CSI_NAMESPACE},
        "type": "Opaque",
        "stringData": {"cloud.conf": conf},
    }


def csi_helm_chart(mirror: Mirror) -> dict[str, Any]:
    """The HelmChart RKE2's helm-controller installs: chart archive from the mirror, pinned."""
    values = {
        "secret": {"enabled": True, "create": False, "name": CSI_SECRET},
        # Our own StorageClass (below), not the chart's unencrypted defaults.
        "storageClass": {"enabled": False},
    }
    return {
        "apiVersion": "helm.cattle.io/v1",
        "kind": "HelmChart",
        "metadata": {"name": CSI_CHART, "namespace": CSI_NAMESPACE},
        "spec": {
            "chart": mirror.chart_url(CSI_CHART, CSI_CHART_VERSION),
            "targetNamespace": CSI_NAMESPACE,
            "valuesContent": yaml.safe_dump(values, sort_keys=False),
        },
    }


def storage_class(volume_type: str, zones: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": STORAGE_CLASS, "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
        "provisioner": CSI_PROVISIONER,
        "parameters": {"type": volume_type},
        "reclaimPolicy": "Retain",
        "allowVolumeExpansion": True,
        "volumeBindingMode": "WaitForFirstConsumer",
        "allowedTopologies": [
            {"matchLabelExpressions": [{"key": CSI_ZONE_KEY, "values": list(zones)}]}
        ],
    }


def manifest_files(
    mirror: Mirror, volume_type: str, zones: list[str], conf: str
) -> list[tuple[str, str]]:
    """(path, content) of the add-on manifests, one file per add-on (RKE2 names AddOns so)."""
    docs = {
        "samu-cinder-csi.yaml": [csi_secret(conf), csi_helm_chart(mirror)],
        "samu-storageclass.yaml": [storage_class(volume_type, zones)],
    }
    return [
        (f"{MANIFESTS_DIR}/{name}", yaml.safe_dump_all(objs, sort_keys=False))
        for name, objs in docs.items()
    ]
