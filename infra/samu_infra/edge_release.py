"""SIP edge release: the samu-edge chart (Kamailio over the zones + routing sidecar).

Released on the operator's cluster through the operator release's Kubernetes provider, in
namespace ``samu-edge`` (the only one the tenants' NetworkPolicies admit SIP from), and
after the operator release: the routing sidecar lists/watches SamuTenants, whose CRD that
chart installs. Values come from edge.py (checked against the chart before any resource).
"""

from pathlib import Path

import pulumi
from pulumi_kubernetes import Provider
from pulumi_kubernetes.helm.v3 import Release

from samu_infra.config import StackConfig
from samu_infra.edge import EDGE_NAMESPACE, release_values


class EdgeRelease(pulumi.ComponentResource):
    """Helm release of helm/samu-edge, advertising the SIP edge load balancer's address."""

    def __init__(
        self,
        name: str,
        cfg: StackConfig,
        provider: Provider,
        operator_release: pulumi.Resource,
        advertise: pulumi.Input[str],
        project_root: Path,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("samu:infra:EdgeRelease", name, None, opts)
        self.release = Release(
            "samu-edge",
            name="samu-edge",
            chart=str(project_root / cfg.edge.chart),
            namespace=EDGE_NAMESPACE,
            create_namespace=True,
            atomic=True,
            values=release_values(cfg, advertise),
            opts=pulumi.ResourceOptions(
                parent=self, provider=provider, depends_on=[operator_release]
            ),
        )
        self.register_outputs({"release": self.release.name})
