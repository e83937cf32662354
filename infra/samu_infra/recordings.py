"""Recording store: one Swift container per SAMU tenant, on a zone-replicated storage policy.

A recording must survive the loss of a zone, so containers live on the stack's storage
policy (the provider's policy that keeps a replica in each of ``replicatedZones`` zones and
encrypts at rest). Containers are never public (no ``.r:`` read ACL), versioned (an
overwrite or delete keeps the previous copy), protected in Pulumi state and retained when
removed from the program: no ``pulumi destroy`` deletes call recordings.
The shipper creates a tenant's container on its first write when it does not exist yet
(a tenant onboarded with ``kubectl apply``), with the credential and policy of store.py.
Retention: the longer of the stack's and the tenant's ``retentionDays`` is written on the
container; the recorder sets
``X-Delete-After`` on each object from it (Swift has no container-level expiry).
"""

import pulumi
import pulumi_openstack as openstack

from samu_infra import store
from samu_infra.config import StackConfig
from samu_infra.labels import metadata
from samu_operator.model.tenant import SamuTenant


def container_name(tenant: str) -> str:
    return f"recordings-{tenant}"


class RecordingStore(pulumi.ComponentResource):
    """Per-tenant, zone-replicated, encrypted, private, versioned, retained containers."""

    def __init__(
        self,
        name: str,
        cfg: StackConfig,
        tenants: list[SamuTenant],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("samu:infra:RecordingStore", name, None, opts)
        rec = cfg.recordings
        self.containers: dict[str, openstack.objectstorage.Container] = {}
        for tenant in tenants:
            self.containers[tenant.name] = openstack.objectstorage.Container(
                container_name(tenant.name),
                name=container_name(tenant.name),
                storage_policy=rec.storage_policy,
                versioning=True,
                force_destroy=False,
                metadata=metadata(
                    "recordings",
                    tenant=tenant.name,
                    # Never shorter than either asks: the stack's floor or the tenant's own.
                    retention_days=str(
                        max(rec.retention_days, tenant.spec.recording.retention_days)
                    ),
                    replicated_zones=str(rec.replicated_zones),
                    encrypted=str(rec.encrypted).lower(),
                ),
                opts=pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True),
            )
        # The shipper's credential (store.py): recordings-* only, no DELETE.
        self.credential = openstack.identity.ApplicationCredential(
            "recordings-shipper",
            name="samu-recordings-shipper",
            description="recording shipper: recordings-* containers, read and write, no delete",
            unrestricted=False,
            access_rules=[
                openstack.identity.ApplicationCredentialAccessRuleArgs(**rule)
                for rule in store.access_rules()
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
        #: The Secret's data, a secret output (the credential's secret is one).
        self.secret_data = pulumi.Output.secret(
            pulumi.Output.all(self.credential.id, self.credential.secret).apply(
                lambda v: store.secret_data(cfg, v[0], v[1])
            )
        )
        self.register_outputs({"containers": {k: v.name for k, v in self.containers.items()}})
