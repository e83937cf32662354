"""Publishes the positions' derived Secrets (phone passwords, the edge's HA1 hashes) from the
tenant's live key: the thin shell around ``core.positions`` and ``core.desired``.

The key Secret is create-only (generated once); the key is read back from the cluster by
name (the operator never lists Secrets), so a re-generated candidate never replaces it.
"""

import base64
from collections.abc import Mapping
from typing import Any

from samu_operator.core import positions
from samu_operator.core.desired import position_secrets
from samu_operator.core.meta import namespace_of
from samu_operator.kube import Kube, Ref
from samu_operator.kube.apply import Applied, apply_all
from samu_operator.model.tenant import SamuTenant


def secret_value(secret: Mapping[str, Any] | None, key: str) -> str | None:
    """One value of a Secret as the API returns it (``data``, base64) or as it was written
    (``stringData``, what an API without admission keeps)."""
    if not secret:
        return None
    data = secret.get("data") or {}
    if key in data:
        return base64.b64decode(data[key]).decode()
    value = (secret.get("stringData") or {}).get(key)
    return str(value) if value is not None else None


def publish(
    kube: Kube, tenant: SamuTenant, uid: str | None, created_key: Mapping[str, Any] | None = None
) -> Applied:
    """Apply the derived Secrets; nothing when the key Secret is not there (yet).

    ``created_key``: the key Secret this reconciliation has just created (so the key is the
    one it wrote, and the derived Secrets cannot exist yet): no read is needed.
    """
    if created_key is not None:
        key = secret_value(created_key, positions.KEY_FIELD)
    else:
        ref = Ref("v1", "Secret", namespace_of(tenant.name), positions.KEY_SECRET)
        key = secret_value(kube.get(ref), positions.KEY_FIELD)
    if key is None:
        return Applied()
    return apply_all(kube, position_secrets(tenant, key, uid), fresh=created_key is not None)


def created_key_secret(desired: list[dict[str, Any]], created: list[str]) -> dict[str, Any] | None:
    """The key Secret among ``desired`` if ``created`` (``Applied.created``) names it."""
    for obj in desired:
        meta = obj["metadata"]
        if obj["kind"] == "Secret" and meta["name"] == positions.KEY_SECRET:
            return obj if f"Secret {meta['namespace']}/{meta['name']}" in created else None
    return None


def teardown_refs(tenant: str) -> list[dict[str, Any]]:
    """The derived Secrets as by-name objects for the teardown (Secrets are never listed)."""
    return [
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": n, "namespace": tenant}}
        for n in (positions.PASSWORDS_SECRET, positions.EDGE_SECRET)
    ]
