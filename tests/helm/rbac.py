"""RBAC as sets of (verb, apiGroup, resource): what a ClusterRole grants, what was called.

Pure functions over plain data, so the comparison is tested on a recorded sample as well as
wired to the operator's e2e scenario (test_rbac.py).
"""

from collections.abc import Iterable, Mapping
from typing import Any

Grant = tuple[str, str, str]  # (verb, apiGroup, resource[/subresource]); "" is the core group


def observed_grants(calls: Iterable[tuple[str, str, str]]) -> set[Grant]:
    """What the recorded calls need: ``(verb, "group/version/plural[/sub]", scope)`` tuples as
    ``SamuEmulator.api_calls()`` returns them ("v1/pods" is the core group)."""
    needed: set[Grant] = set()
    for verb, path, _scope in calls:
        parts = path.split("/")
        if parts[-1] in ("", "None"):
            continue  # API discovery (/apis/GROUP/VERSION): every user may, system:discovery
        # core: version/plural[/sub]; named group: group/version/plural[/sub]
        if parts[0] == "v1":
            group, rest = "", parts[1:]
        else:
            group, rest = parts[0], parts[2:]
        needed.add((verb, group, "/".join(rest)))
    return needed


def granted(rules: Iterable[Mapping[str, Any]]) -> set[Grant]:
    """Every (verb, group, resource) a list of PolicyRules grants, wildcards kept as '*'."""
    out: set[Grant] = set()
    for rule in rules:
        if rule.get("nonResourceURLs"):
            continue
        for group in rule.get("apiGroups", []):
            for resource in rule.get("resources", []):
                for verb in rule.get("verbs", []):
                    out.add((verb, group, resource))
    return out


def wildcards(rules: Iterable[Mapping[str, Any]]) -> list[str]:
    """Each rule field that grants everything ('*'), named."""
    found = []
    for i, rule in enumerate(rules):
        for field in ("apiGroups", "resources", "verbs", "nonResourceURLs"):
            if any("*" in item for item in rule.get(field, [])):
                found.append(f"rules[{i}].{field}")
    return found


def compare(needed: set[Grant], given: set[Grant]) -> tuple[set[Grant], set[Grant]]:
    """(missing: called but not granted, unused: granted but never called)."""
    return needed - given, given - needed
