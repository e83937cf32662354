"""Drift between a live object and its desired form. Pure.

Desired objects are compared as a *subset* of the live ones: the API server adds defaults
(clusterIP, imagePullPolicy, ...) that are not drift. A value that differs, a missing key, or
a list of another length is drift; the fix is a merge patch of the whole desired object
(lists are replaced whole by merge patches, the same in the emulator and a real API server).
Keys added by hand in maps the operator owns entirely (a ConfigMap's data) are removed too.
"""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

Path = tuple[str, ...]

#: Maps the operator owns entirely: any key added there by hand is drift.
OWNED_MAPS: dict[str, tuple[Path, ...]] = {"ConfigMap": (("data",),)}


def contains(live: Any, desired: Any) -> bool:
    """True when every value of ``desired`` is in ``live`` (recursively)."""
    if isinstance(desired, Mapping):
        if not isinstance(live, Mapping):
            return False
        return all(key in live and contains(live[key], value) for key, value in desired.items())
    if isinstance(desired, list):
        if not isinstance(live, list) or len(live) != len(desired):
            return False
        return all(contains(a, b) for a, b in zip(live, desired, strict=True))
    return bool(live == desired)


def _without(obj: Mapping[str, Any], paths: Iterable[Path]) -> dict[str, Any]:
    out = {
        key: (dict(value) if isinstance(value, Mapping) else value) for key, value in obj.items()
    }
    for path in paths:
        node: Any = out
        for key in path[:-1]:
            if not isinstance(node, dict) or key not in node:
                node = None
                break
            node[key] = dict(node[key])
            node = node[key]
        if isinstance(node, dict):
            node.pop(path[-1], None)
    return out


def _get(obj: Mapping[str, Any], path: Path) -> Any:
    node: Any = obj
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def _extra_keys(live: Mapping[str, Any], desired: Mapping[str, Any]) -> list[tuple[Path, str]]:
    extra = []
    for path in OWNED_MAPS.get(str(desired.get("kind")), ()):
        live_map, desired_map = _get(live, path) or {}, _get(desired, path) or {}
        extra += [(path, key) for key in live_map if key not in desired_map]
    return extra


def _metadata_view(obj: Mapping[str, Any]) -> dict[str, Any]:
    """Only the metadata the operator sets (labels, annotations, ownerReferences)."""
    meta = obj.get("metadata") or {}
    keep = ("labels", "annotations", "ownerReferences")
    return {key: meta[key] for key in keep if key in meta}


def drifted(
    live: Mapping[str, Any], desired: Mapping[str, Any], ignored: Sequence[Path] = ()
) -> bool:
    """True when ``live`` must be patched to match ``desired`` (``ignored`` paths excepted)."""
    want = _without(desired, ignored)
    want["metadata"] = _metadata_view(desired)
    return not contains(live, want) or bool(_extra_keys(live, desired))


def restore_patch(
    live: Mapping[str, Any], desired: Mapping[str, Any], ignored: Sequence[Path] = ()
) -> dict[str, Any]:
    """The merge patch that puts ``live`` back to ``desired`` (``ignored`` paths untouched)."""
    patch = _without(desired, ignored)
    patch["metadata"] = _metadata_view(desired)
    for path, key in _extra_keys(live, desired):
        node = patch
        for part in path:
            node = node.setdefault(part, {})
        node[key] = None
    return patch
