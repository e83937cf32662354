"""Tier and zone marks written on every declared resource, and read back by the guardrails.

Pure (no pulumi import): the components write these marks, the guardrails and the plan
read them from the declared inputs, so both sides agree on one spelling.
"""

TIER_KEY = "samu-tier"
ZONE_KEY = "samu-zone"
ROLE_KEY = "samu-role"
TRAFFIC_KEY = "samu-traffic"
TLS_KEY = "samu-tls"

# Tiers (rows of the topology picture, in display order).
TIERS = (
    "admin",
    "tenancy",
    "k8s-control",
    "k8s-worker",
    "sip-edge",
    "database",
    "database-standby",
    "recordings",
    "operator",
)
#: Tiers that carry calls or their data: each must have members in every zone.
SPREAD_TIERS = ("k8s-control", "k8s-worker", "database")

#: Cinder scheduler extra spec that lands a volume on a backend encrypting at rest.
ENCRYPTION_SPEC_KEY = "capabilities:encryption_at_rest"
ENCRYPTION_SPEC_VALUE = "<is> True"
MULTIATTACH_SPEC_KEY = "multiattach"
MULTIATTACH_SPEC_VALUE = "<is> True"


def tags(tier: str, zone: str | None = None, **extra: str) -> list[str]:
    """Neutron/Octavia tags: ``samu-tier=database``."""
    out = [f"{TIER_KEY}={tier}"]
    if zone:
        out.append(f"{ZONE_KEY}={zone}")
    out += [f"samu-{k.replace('_', '-')}={v}" for k, v in extra.items()]
    return out


def metadata(tier: str, zone: str | None = None, **extra: str) -> dict[str, str]:
    """Nova/Cinder/Swift metadata: ``{"samu-tier": "database"}``."""
    out = {TIER_KEY: tier}
    if zone:
        out[ZONE_KEY] = zone
    out.update({f"samu-{k.replace('_', '-')}": v for k, v in extra.items()})
    return out
