"""The whole Pulumi program as one function of a validated config (no module-level code).

``infra/__main__.py`` calls :func:`main` under the real engine; the offline plan calls
:func:`build` under mocks. Both read the same stack file and declare the same resources.
"""

from pathlib import Path

import pulumi
import pulumi_openstack as openstack

from samu_infra.addressing import carve
from samu_infra.cluster import KubernetesCluster
from samu_infra.config import PROJECT, StackConfig
from samu_infra.edge_release import EdgeRelease
from samu_infra.rac import OracleRac
from samu_infra.recordings import RecordingStore
from samu_infra.release import OperatorRelease
from samu_infra.stackfile import load_stack_file, stack_path, tenant_document
from samu_infra.tenancy import Tenancy
from samu_operator.model.errors import validate_tenant

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def build(cfg: StackConfig, project_root: Path = PROJECT_ROOT) -> dict[str, pulumi.Output]:
    """Declare every resource of the stack; return the stack outputs."""
    # Tenants are parsed before the first resource: a bad entry declares nothing.
    tenants = [validate_tenant(tenant_document(entry)) for entry in cfg.tenants]
    plan = carve(cfg.network.supernet, cfg.zones)
    config = pulumi.Config(PROJECT)
    cluster_secrets = config.require_secret_object("clusterSecrets")
    provider = openstack.Provider(
        "openstack", auth_url=cfg.cloud.auth_url, region=cfg.cloud.region
    )  # credentials: OS_APPLICATION_CREDENTIAL_* in the environment, never in the stack
    opts = pulumi.ResourceOptions(providers={"openstack": provider})
    tenancy = Tenancy("tenancy", cfg, plan, opts=opts)
    clusters = {
        spec.name: KubernetesCluster(spec, cfg, tenancy, cluster_secrets, opts=opts)
        for spec in cfg.clusters
    }
    rac = OracleRac(
        "oracle-rac", cfg, tenancy, config.require_secret("oracleAdminPassword"), opts=opts
    )
    recordings = RecordingStore("recordings", cfg, tenants, opts=opts)
    operator_cluster = clusters[cfg.operator.cluster]
    operator = OperatorRelease(
        "samu-operator",
        cfg,
        operator_cluster.kubeconfig,
        tenants,
        project_root,
        store_data=recordings.secret_data,
        opts=opts,
    )
    # The config check guarantees the operator's cluster has the SIP edge load balancer,
    # and edge.tls holds secure certificate and key unless another tool writes the Secret.
    edge_tls = None
    if not cfg.edge.tls.existing_secret:
        edge_tls = config.require_secret_object("edge").apply(lambda edge: edge["tls"])
    EdgeRelease(
        "samu-edge",
        cfg,
        operator.provider,
        operator.release,
        operator_cluster.sip_address,
        project_root,
        tls=edge_tls,
        store_data=recordings.secret_data,
        opts=opts,
    )
    outputs: dict[str, pulumi.Output] = {
        "bastionAddress": tenancy.bastion_address,
        "racScanName": pulumi.Output.from_input(rac.scan_fqdn),
    }
    for name, cluster in clusters.items():
        outputs[f"{name}ApiHost"] = cluster.api_host
        outputs[f"{name}Kubeconfig"] = cluster.kubeconfig
        if cluster.spec.sip_edge:
            outputs[f"{name}SipEdgeAddress"] = cluster.sip_address
            outputs[f"{name}MediaAddresses"] = pulumi.Output.all(**cluster.media_addresses).apply(
                dict
            )
    return outputs


def main() -> None:
    """Entry point under the real engine: read the stack file of the selected stack."""
    cfg = load_stack_file(stack_path(PROJECT_ROOT, pulumi.get_stack()))
    for key, value in build(cfg).items():
        pulumi.export(key, value)
