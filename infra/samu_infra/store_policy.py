"""Does the provider's Swift have the stack's storage policy? Judged from its capabilities.

Swift publishes its policies in ``/info`` (``swift capabilities --json`` prints it): each
policy's name, aliases and whether it is the default; deprecated policies are left out. That
is all it tells: the replica count (the policy's ring) and encryption at rest (admin-only
info) are not published, so ``recordings.replicatedZones`` and ``recordings.encrypted`` stay
the provider's word (docs/infrastructure.md). What can be told is checked: the policy
exists and is not deprecated, since a container on a missing policy is refused at its first
write. Pure (no pulumi import).
"""

from collections.abc import Mapping
from typing import Any

from samu_infra.config import StackConfig

KEY = "recordings.storagePolicy"


def published_policies(capabilities: Any) -> dict[str, str] | None:
    """name or alias -> the policy's name, from Swift's ``/info``; None if it has none."""
    swift = capabilities.get("swift") if isinstance(capabilities, Mapping) else None
    policies = swift.get("policies") if isinstance(swift, Mapping) else None
    if not isinstance(policies, list):
        return None
    out: dict[str, str] = {}
    for policy in policies:
        if not isinstance(policy, Mapping) or "name" not in policy:
            continue
        name = str(policy["name"])
        aliases = [a.strip() for a in str(policy.get("aliases") or "").split(",") if a.strip()]
        for alias in [name, *aliases]:
            out[alias] = name
    return out


def policy_issues(capabilities: Any, cfg: StackConfig) -> list[tuple[str, str]]:
    """(key, problem and fix) when the stack's policy is not among the published ones."""
    wanted = cfg.recordings.storage_policy
    published = published_policies(capabilities)
    if published is None:
        return [
            (
                KEY,
                "the Swift capabilities given list no storage policy (swift.policies): pass "
                "the output of 'swift capabilities --json' (or GET <object-store>/info)",
            )
        ]
    if wanted not in published:
        names = sorted(set(published.values()))
        return [
            (
                KEY,
                f"{wanted!r} is not a storage policy of this Swift (published: {names}; a "
                "deprecated policy is not published): ask the provider for a zone-replicated, "
                "encrypted policy and name it here",
            )
        ]
    return []
