"""Operator release: the samu-operator chart and one SamuTenant per stack ``tenants`` entry.

The Kubernetes provider is built from the cluster's kubeconfig (a secret output), so the
release needs no credentials of its own. Tenants declared here and tenants applied with
kubectl are the same resource: onboarding works either way. A Helm Release is a single
resource whose chart is rendered by the provider, so it runs the same under mocks.
"""

from pathlib import Path
from typing import Any

import pulumi
import pulumi_kubernetes as k8s
from pulumi_kubernetes.core.v1 import Namespace, Secret

from samu_infra import store
from samu_infra.config import StackConfig
from samu_operator.model.tenant import API_GROUP, API_VERSION, KIND, SamuTenant


def operator_values(cfg: StackConfig) -> dict[str, Any]:
    """The operator release's values: the stack's ``operator.values``, and the cluster's pod
    network from ``network.podCidr`` (the one RKE2 is installed with): the PBX identify the
    edge's pods by it. The stack's network wins over a podCidrs written in the values."""
    values = dict(cfg.operator.values)
    values["cluster"] = {
        **dict(values.get("cluster") or {}),
        "podCidrs": [str(cfg.network.pod_cidr)],
    }
    return values


class OperatorRelease(pulumi.ComponentResource):
    """Helm release of helm/samu-operator, then the tenants' custom resources."""

    def __init__(
        self,
        name: str,
        cfg: StackConfig,
        kubeconfig: pulumi.Output[str],
        tenants: list[SamuTenant],
        project_root: Path,
        store_data: pulumi.Output[dict[str, str]] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        """``store_data``: the recording store's credential (store.py), written as the Secret
        the operator's pods get as environment, before the release (so the first pods have it)."""
        super().__init__("samu:infra:OperatorRelease", name, None, opts)
        op = cfg.operator
        self.provider = k8s.Provider(
            f"{op.cluster}-k8s", kubeconfig=kubeconfig, opts=pulumi.ResourceOptions(parent=self)
        )
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=self.provider)
        # Namespace, store Secret, then the release: the Secret must exist in the namespace
        # before the operator's first pods start (Helm would create the namespace too late).
        namespace = Namespace(
            op.namespace,
            metadata={"name": op.namespace, "labels": {"samu-platform.io/managed-by": "pulumi"}},
            opts=k8s_opts,
        )
        after: list[pulumi.Resource] = [namespace]
        if store_data is not None:
            secret_name = (op.values.get("recordingStore") or {}).get(
                "secretName", store.SECRET_NAME
            )
            after.append(
                Secret(
                    f"{op.namespace}-{secret_name}",
                    metadata={
                        "name": secret_name,
                        "namespace": namespace.metadata["name"],
                        "labels": {"samu-platform.io/managed-by": "pulumi"},
                    },
                    type="Opaque",
                    string_data=pulumi.Output.secret(store_data),
                    opts=k8s_opts,
                )
            )
        self.release = k8s.helm.v3.Release(
            "samu-operator",
            name="samu-operator",
            chart=str(project_root / op.chart),
            namespace=namespace.metadata["name"],
            create_namespace=False,
            atomic=True,
            values=operator_values(cfg),
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=after)),
        )
        self.tenants = [
            k8s.apiextensions.CustomResource(
                tenant.name,
                api_version=f"{API_GROUP}/{API_VERSION}",
                kind=KIND,
                metadata={"name": tenant.name, "labels": {"samu-platform.io/managed-by": "pulumi"}},
                spec=tenant.spec.model_dump(by_alias=True, exclude_none=True, mode="json"),
                # The chart installs the CRD: the tenants wait for the release.
                opts=pulumi.ResourceOptions.merge(
                    k8s_opts, pulumi.ResourceOptions(depends_on=[self.release])
                ),
            )
            for tenant in tenants
        ]
        self.register_outputs({"release": self.release.name})
