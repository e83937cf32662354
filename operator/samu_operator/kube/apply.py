"""Apply a tenant's desired objects idempotently, prune what it no longer needs, tear it down.

The decisions (what is drift, what is kept on deletion) are in ``core``; this module only
talks to the API server through ``kube.Kube``.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from samu_operator.core import drift, labels
from samu_operator.core.desired import apply_policy, is_retained
from samu_operator.kube import KINDS, Kube, KubeError, Ref

Obj = dict[str, Any]

#: Kinds a tenant may own (what prune and teardown list), by apiVersion. Not Secrets: the
#: tenant's one Secret is always desired and is addressed by name, so the operator never
#: needs to list or watch Secrets (RBAC cannot scope that to tenant namespaces: it would let
#: the operator read every Secret of the cluster).
CHILD_KINDS: tuple[tuple[str, str], ...] = (
    ("apps/v1", "StatefulSet"),
    ("v1", "Service"),
    ("policy/v1", "PodDisruptionBudget"),
    ("v1", "ConfigMap"),
    ("v1", "ServiceAccount"),
    ("networking.k8s.io/v1", "NetworkPolicy"),
    ("v1", "LimitRange"),
    ("v1", "ResourceQuota"),
    ("v1", "PersistentVolumeClaim"),
    ("rbac.authorization.k8s.io/v1", "RoleBinding"),
)


@dataclass
class Applied:
    created: list[str] = field(default_factory=list)
    patched: list[str] = field(default_factory=list)
    unchanged: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.created or self.patched)


def _label(obj: Obj) -> str:
    meta = obj["metadata"]
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{obj['kind']} {where}{meta['name']}"


def apply_one(kube: Kube, obj: Obj, live: Obj | None, result: Applied) -> None:
    """Create ``obj`` when ``live`` is None, else patch it back if it drifted."""
    policy = apply_policy(obj)
    if live is None:
        try:
            kube.create(obj)
            result.created.append(_label(obj))
            return
        except KubeError as exc:
            if exc.status != 409:
                raise
            live = kube.get(Ref.of(obj))  # created meanwhile (a restart, a retry): compare
            if live is None:
                raise
    if policy.create_only or not drift.drifted(live, obj, policy.ignored):
        result.unchanged += 1
        return
    kube.merge(Ref.of(obj), drift.restore_patch(live, obj, policy.ignored))
    result.patched.append(_label(obj))


def apply_all(kube: Kube, objects: Iterable[Obj], *, fresh: bool = False) -> Applied:
    """Apply every object in order. ``fresh`` (a new tenant) creates first and reads only on
    conflict, halving the requests of an onboarding; otherwise each object is read first."""
    result = Applied()
    for obj in objects:
        live = None if fresh else kube.get(Ref.of(obj))
        apply_one(kube, obj, live, result)
    return result


def _children(kube: Kube, tenant: str) -> list[Obj]:
    selector = f"{labels.TENANT}={tenant}"
    found: list[Obj] = []
    for api_version, kind in CHILD_KINDS:
        for obj in kube.list(api_version, kind, tenant, selector):
            obj.setdefault("apiVersion", api_version)
            obj.setdefault("kind", kind)
            found.append(obj)
    return found


def prune(kube: Kube, tenant: str, desired: list[Obj]) -> list[str]:
    """Delete children the spec no longer asks for (a zone removed from ``pbx.zones``).
    Recording PVCs are never pruned: a removed zone's recordings stay."""
    wanted = {Ref.of(obj) for obj in desired}
    deleted = []
    for obj in _children(kube, tenant):
        if obj["kind"] == "PersistentVolumeClaim" or Ref.of(obj) in wanted:
            continue
        if kube.delete(Ref.of(obj)):
            deleted.append(_label(obj))
    return deleted


@dataclass
class TornDown:
    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def teardown(
    kube: Kube, tenant: str, desired: list[Obj], delete_recordings: bool, note: str
) -> TornDown:
    """Delete the tenant's children; keep its recordings (PVCs) and their Namespace unless
    ``delete_recordings``. Kept objects get the RETAINED annotation (``note``: when, why)."""
    result = TornDown()
    live = _children(kube, tenant)
    by_name = [o for o in desired if o["kind"] in ("Secret", "Namespace")]  # never listed
    for obj in [*live, *by_name]:
        ref = Ref.of(obj)
        if is_retained(obj, delete_recordings):
            if kube.get(ref) is not None:
                kube.merge(ref, {"metadata": {"annotations": {labels.RETAINED: note}}})
                result.kept.append(_label(obj))
        elif kube.delete(ref):
            result.deleted.append(_label(obj))
    return result


def known_kind(obj: Obj) -> bool:
    return obj.get("kind") in KINDS
