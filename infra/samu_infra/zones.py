"""What a zone is called, in one place: the value of the node label the clusters set.

Every Kubernetes node of a stack is labelled ``topology.kubernetes.io/zone=<zone>`` with the
OpenStack availability zone it runs in, exactly as ``cloud.zones`` spells it (cloudinit.py).
A SamuTenant's ``pbx.zones`` and ``failover.preferredZones`` must use those same names: the
operator pins each PBX to its zone with that label, so a zone no node carries leaves its PBX
Pending (and a tenant none of whose zones match stays Failed). Pure (no pulumi import).
"""

from collections.abc import Mapping
from typing import Any

from samu_operator.core.labels import NODE_ZONE

#: The node label whose values are the zone names (Kubernetes' well-known label).
ZONE_LABEL = NODE_ZONE


def _listed(spec: Mapping[str, Any], *path: str) -> list[Any]:
    node: Any = spec
    for part in path:
        node = node.get(part) if isinstance(node, Mapping) else None
    return node if isinstance(node, list) else []


def tenant_zone_issues(
    spec: Mapping[str, Any], stack_zones: list[str], stack: str
) -> list[tuple[str, str]]:
    """(path under ``spec``, problem and fix) for every tenant zone no node of the stack has.

    ``stack``: how to name the stack in messages ("stack prod", "this stack").
    """
    where = f"{stack} (its nodes' {ZONE_LABEL} values): use one of {list(stack_zones)}"
    issues = []
    zones = _listed(spec, "pbx", "zones")
    for j, zone in enumerate(zones):
        if zone not in stack_zones:
            issues.append((f"pbx.zones[{j}]", f"{zone!r} is not a zone of {where}"))
    if zones and not set(zones) & set(stack_zones):
        issues.append(
            (
                "pbx.zones",
                f"no zone matches a node of {stack}: every PBX would stay Pending and "
                f"the tenant Failed; the zones of {where}",
            )
        )
    for j, zone in enumerate(_listed(spec, "failover", "preferredZones")):
        if zone not in stack_zones:
            issues.append((f"failover.preferredZones[{j}]", f"{zone!r} is not a zone of {where}"))
    return issues
