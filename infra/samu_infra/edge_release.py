"""SIP edge release: the samu-edge chart (Kamailio over the zones + routing sidecar).

Released on the operator's cluster through the operator release's Kubernetes provider, in
namespace ``samu-edge`` (the only one the tenants' NetworkPolicies admit SIP from), and
after the operator release: the routing sidecar lists/watches SamuTenants, whose CRD that
chart installs. Values come from edge.py (checked against the chart before any resource).

Order on the first ``up``: Namespace, then the TLS Secret, then the Release. Kamailio
mounts the Secret (``sip.tls.secretName``): a Release before its Secret would leave the
edge pods in ContainerCreating and the atomic release would roll back. The program declares
the Namespace itself (no ``create_namespace``): Helm would create it only while installing
the release, too late for the Secret that must exist before it.
"""

from pathlib import Path
from typing import Any

import pulumi
from pulumi_kubernetes import Provider
from pulumi_kubernetes.core.v1 import Namespace, Secret
from pulumi_kubernetes.helm.v3 import Release

from samu_infra import store
from samu_infra.config import StackConfig
from samu_infra.edge import EDGE_NAMESPACE, release_values, tls_secret_name

#: Labels of the edge's namespace. The edge pods run on their node's network (the carrier's
#: RTP reaches each edge node on its own floating IP), which only Pod Security "privileged"
#: admits; audit and warn stay at "restricted", which the chart's containers meet in every
#: other control (tests/helm/test_edge_media_chart.py). Only the edge runs in this namespace.
#: Not ``app.kubernetes.io/part-of: samu-platform``, which marks the tenants' namespaces (the
#: edge's NetworkPolicy sends SIP to those).
NAMESPACE_LABELS = {
    "pod-security.kubernetes.io/enforce": "privileged",
    "pod-security.kubernetes.io/audit": "restricted",
    "pod-security.kubernetes.io/warn": "restricted",
    "samu-platform.io/managed-by": "pulumi",
}


def tls_string_data(tls: dict[str, Any]) -> dict[str, str]:
    """The kubernetes.io/tls Secret's keys from the decrypted ``edge.tls`` config object."""
    return {"tls.crt": str(tls["certificate"]), "tls.key": str(tls["privateKey"])}


class EdgeRelease(pulumi.ComponentResource):
    """Namespace, TLS Secret (unless another tool writes it), then helm/samu-edge."""

    def __init__(
        self,
        name: str,
        cfg: StackConfig,
        provider: Provider,
        operator_release: pulumi.Resource,
        advertise: pulumi.Input[str],
        project_root: Path,
        tls: pulumi.Output[dict[str, Any]] | None = None,
        store_data: pulumi.Output[dict[str, str]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``tls``: the decrypted ``edge.tls`` object (a secret output); None when
        ``edge.tls.existingSecret`` leaves the Secret to another tool. ``store_data``: the
        recording store's credential (store.py), written as Secret samu-recordings-store for
        the edge's shipper."""
        super().__init__("samu:infra:EdgeRelease", name, None, opts)
        k8s = pulumi.ResourceOptions(parent=self, provider=provider)
        self.namespace = Namespace(
            EDGE_NAMESPACE,
            metadata={"name": EDGE_NAMESPACE, "labels": NAMESPACE_LABELS},
            opts=k8s,
        )
        after: list[pulumi.Resource] = [operator_release, self.namespace]
        self.tls_secret: Secret | None = None
        if tls is not None:
            self.tls_secret = Secret(
                tls_secret_name(cfg),
                metadata={
                    "name": tls_secret_name(cfg),
                    "namespace": self.namespace.metadata["name"],
                    "labels": {"samu-platform.io/managed-by": "pulumi"},
                },
                type="kubernetes.io/tls",
                # A secret output: masked in the plan, encrypted in the state.
                string_data=pulumi.Output.secret(tls.apply(tls_string_data)),
                opts=k8s,
            )
            after.append(self.tls_secret)
        if store_data is not None:
            after.append(
                Secret(
                    f"{EDGE_NAMESPACE}-{store.SECRET_NAME}",
                    metadata={
                        "name": store.SECRET_NAME,
                        "namespace": self.namespace.metadata["name"],
                        "labels": {"samu-platform.io/managed-by": "pulumi"},
                    },
                    type="Opaque",
                    string_data=pulumi.Output.secret(store_data),
                    opts=k8s,
                )
            )
        self.release = Release(
            "samu-edge",
            name="samu-edge",
            chart=str(project_root / cfg.edge.chart),
            namespace=self.namespace.metadata["name"],
            create_namespace=False,
            atomic=True,
            values=release_values(cfg, advertise),
            opts=pulumi.ResourceOptions.merge(k8s, pulumi.ResourceOptions(depends_on=after)),
        )
        self.register_outputs({"release": self.release.name})
