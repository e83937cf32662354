"""What every object of a tenant shares: its Namespace, its metadata, the PBX's ports.

A module of its own so that the builders of the tenant's objects (``desired``, ``netpol``)
name, label and place them the same way without importing each other.
"""

from typing import Any

from samu_operator.core import labels

Obj = dict[str, Any]

SIP_PORT = 5060
METRICS_PORT = 8088
RTP_PORTS = (10000, 20000)


def namespace_of(tenant: str) -> str:
    """Each tenant lives alone in its Namespace, named like the tenant (``samu-30``)."""
    return tenant


def object_meta(tenant: str, name: str, *, namespaced: bool = True, **extra: str) -> Obj:
    """``metadata`` of one of the tenant's objects: its name, the tenant's labels (plus
    ``extra``) and, unless cluster-scoped, the tenant's Namespace."""
    meta: Obj = {"name": name, "labels": labels.tenant_labels(tenant) | extra}
    if namespaced:
        meta["namespace"] = namespace_of(tenant)
    return meta
