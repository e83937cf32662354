"""The recording store's credential: what it may do, and the Secret that carries it.

Who creates a tenant's container: the shipper, on its first write (an idempotent PUT of
``recordings-<tenant>`` with ``X-Storage-Policy`` from ``SAMU_RECORDINGS_STORAGE_POLICY``).
That covers every tenant however it was onboarded (stack entry or ``kubectl apply``) without
giving the operator a store credential; the program still declares the stack tenants'
containers (protected, retained) so that ``pulumi`` owns and shows them.

The credential is a Keystone application credential with access rules: containers and
objects named ``recordings-*`` in the project, read and write, never DELETE (a recording
leaves only by its ``X-Delete-After``, which Swift's expirer applies). It reaches the cluster
as the Secret ``samu-recordings-store`` (the shipper's contract), written by the program as
a secret output (encrypted in the state, masked in the plan) in two namespaces: ``samu-edge``
(the edge's shipper) and the operator's, whose pods get it as environment (``envFrom``, set
by the kubelet) and copy it into each tenant's namespace (the PBX's shipper), whatever way
the tenant was onboarded. The operator's RBAC still has no read on Secrets.
Pure (no pulumi import).
"""

from samu_infra.config import StackConfig
from samu_operator.core.desired import STORE_SECRET_KEYS, STORE_SECRET_NAME

#: The Secret and its keys (the shipper reads them with ``envFrom``): one spelling, the
#: operator's, which copies it into every tenant's namespace.
SECRET_NAME = STORE_SECRET_NAME
SECRET_KEYS = STORE_SECRET_KEYS
_CONTAINER = "/v1/*/recordings-*"
#: (method, path) the shipper needs: create/check its container, write/read/check objects
#: (SLO segments and manifests are object PUTs). No DELETE anywhere, no other container.
_CALLS = (
    ("PUT", _CONTAINER),
    ("HEAD", _CONTAINER),
    ("GET", _CONTAINER),
    ("PUT", f"{_CONTAINER}/**"),
    ("HEAD", f"{_CONTAINER}/**"),
    ("GET", f"{_CONTAINER}/**"),
)


def access_rules() -> list[dict[str, str]]:
    return [{"service": "object-store", "method": m, "path": p} for m, p in _CALLS]


def secret_data(cfg: StackConfig, credential_id: str, credential_secret: str) -> dict[str, str]:
    """The Secret's data: the standard OpenStack variables plus the storage policy."""
    return {
        "OS_AUTH_URL": cfg.cloud.auth_url,
        "OS_AUTH_TYPE": "v3applicationcredential",
        "OS_APPLICATION_CREDENTIAL_ID": credential_id,
        "OS_APPLICATION_CREDENTIAL_SECRET": credential_secret,
        "OS_REGION_NAME": cfg.cloud.region,
        "SAMU_RECORDINGS_STORAGE_POLICY": cfg.recordings.storage_policy,
    }
