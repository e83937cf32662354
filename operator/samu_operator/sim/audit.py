"""Double-active audit over the emulator's full object history (tests and the drill).

kmock keeps every version of every object. Replaying all versions of a tenant's PBX pods,
its active Service and the tenant itself in resourceVersion order (one global counter in
``SamuEmulator``) gives the state after each single write; at none of them may two pods be
selected by the Service, or carry the current status epoch as ``role=active``.

Deletions are ignored on purpose: a deleted pod is kept with its last labels until the same
name is written again, which can only make the audit stricter.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from samu_operator.core import labels
from samu_operator.core.desired import ACTIVE_SERVICE
from samu_operator.model.tenant import API_GROUP, API_VERSION, PLURAL


@dataclass(frozen=True)
class Violation:
    tenant: str
    resource_version: int
    pods: tuple[str, ...]
    why: str


def _versions(emulator: Any) -> Iterator[tuple[int, int, str, str | None, str, dict[str, Any]]]:
    """(rv, order, kind, namespace, name, body) of every stored version that has an rv."""
    tenants_key = f"{API_GROUP}/{API_VERSION}/{PLURAL}"
    for (res, ns, name), obj in list(emulator._objects.items()):
        path = f"{res.group}/{res.version}/{res.plural}".lstrip("/")
        if path == "v1/pods":
            kind = "pod"
        elif path == "v1/services" and name == ACTIVE_SERVICE:
            kind = "service"
        elif path == tenants_key:
            kind = "tenant"
        else:
            continue
        for order, version in enumerate(obj.history.raw):
            if version is None:
                continue
            body = version.raw
            rv = (body.get("metadata") or {}).get("resourceVersion")
            if isinstance(rv, str) and rv.isdigit():
                yield int(rv), order, kind, ns, name, body


def double_actives(emulator: Any) -> list[Violation]:
    """Every moment (write) at which a tenant had two pods selected as its active PBX."""
    events = sorted(_versions(emulator), key=lambda e: (e[0], e[1]))
    pods: dict[tuple[str, str], dict[str, str]] = {}  # (tenant, pod) -> labels
    selectors: dict[str, dict[str, str]] = {}  # tenant namespace -> Service selector
    epochs: dict[str, int] = {}
    found: list[Violation] = []
    for rv, _, kind, ns, name, body in events:
        meta = body.get("metadata") or {}
        if kind == "tenant":
            epochs[name] = int((body.get("status") or {}).get("epoch") or 0)
            continue
        if kind == "service":
            selectors[ns or ""] = dict((body.get("spec") or {}).get("selector") or {})
            tenant = ns or ""
        else:
            pod_labels = dict(meta.get("labels") or {})
            tenant = pod_labels.get(labels.TENANT, "")
            if not tenant:
                continue
            pods[(tenant, name)] = pod_labels
        found.extend(_check(tenant, rv, pods, selectors.get(tenant), epochs.get(tenant, 0)))
    return found


def _check(
    tenant: str,
    rv: int,
    pods: dict[tuple[str, str], dict[str, str]],
    selector: dict[str, str] | None,
    epoch: int,
) -> list[Violation]:
    mine = {name: lab for (t, name), lab in pods.items() if t == tenant}
    out = []
    if selector:
        chosen = tuple(
            n for n, lab in mine.items() if all(lab.get(k) == v for k, v in selector.items())
        )
        if len(chosen) > 1:
            out.append(Violation(tenant, rv, chosen, "two pods selected by the active Service"))
    current = tuple(
        n
        for n, lab in mine.items()
        if lab.get(labels.ROLE) == "active" and lab.get(labels.EPOCH) == str(epoch) and epoch
    )
    if len(current) > 1:
        out.append(Violation(tenant, rv, current, f"two pods active with the status epoch {epoch}"))
    return out
