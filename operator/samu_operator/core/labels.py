"""Label and annotation keys shared by the onboarding and failover parts of the operator.

The PBX pods carry TENANT, ZONE and COMPONENT=pbx (set by the StatefulSet template); the
failover part adds ROLE and EPOCH on promotion. The tenant's active Service selects
TENANT + ROLE=active + EPOCH=<status.epoch>, so a fenced (stale) active is never selected.
"""

import hashlib
import re

GROUP = "samu-platform.io"
TENANT = f"{GROUP}/tenant"
ZONE = f"{GROUP}/zone"
ROLE = f"{GROUP}/role"
EPOCH = f"{GROUP}/epoch"
COMPONENT = "app.kubernetes.io/component"
MANAGED_BY = "app.kubernetes.io/managed-by"
PART_OF = "app.kubernetes.io/part-of"
NODE_ZONE = "topology.kubernetes.io/zone"

PBX = "pbx"
OPERATOR = "samu-operator"

#: On the Namespace and recording PVCs kept after a tenant's deletion: when and why.
RETAINED = f"{GROUP}/retained-after-tenant-deletion"

_NOT_DNS = re.compile(r"[^a-z0-9-]")


def tenant_labels(tenant: str) -> dict[str, str]:
    """Labels every child of a tenant carries (how the operator and people find them)."""
    return {TENANT: tenant, MANAGED_BY: OPERATOR, PART_OF: "samu-platform"}


def pbx_selector(tenant: str, zone: str) -> dict[str, str]:
    """The labels selecting the one PBX pod of a tenant in a zone."""
    return {TENANT: tenant, ZONE: zone, COMPONENT: PBX}


#: Longest slug: 'recordings-' + slug + '-0' stays a DNS label (63) with room to spare.
SLUG_MAX = 47


def zone_slug(zone: str) -> str:
    """The one form of a zone inside names: objects, DNS names, the edge's PBX addresses and
    dispatcher ids all use it (label values and metrics keep the zone itself, which is a valid
    label value). Zones may hold '_', '.' or capitals, or be long.

    A short hash is appended whenever the name had to change, so 'a_b' and 'a-b' never collide.
    """
    slug = _NOT_DNS.sub("-", zone.lower()).strip("-")
    if slug == zone and len(zone) <= SLUG_MAX:
        return zone
    digest = hashlib.sha256(zone.encode()).hexdigest()[:6]
    return f"{slug[:40].rstrip('-')}-{digest}"
