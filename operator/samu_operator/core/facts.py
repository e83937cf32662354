"""Kubernetes objects (plain dicts, as watched) -> the plain facts core.failover decides on.

Pure: the failover handlers feed it the bodies Kopf hands them, tests feed it literals.
"""

import datetime
from collections.abc import Mapping
from typing import Any

from samu_operator.core import labels
from samu_operator.core.failover import NodeFact, PodFact, Policy, State
from samu_operator.core.fencing import FENCED_AT_ANNOTATION, SWITCHOVER_ANNOTATION

#: A node labelled so declares its whole zone down (maintenance):
#: ``kubectl label nodes -l topology.kubernetes.io/zone=a samu-platform.io/zone-down=true``.
ZONE_DOWN_LABEL = f"{labels.GROUP}/zone-down"
#: Taints the node lifecycle controller sets before any eviction: we act on them at once.
UNHEALTHY_TAINTS = frozenset({"node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready"})

Body = Mapping[str, Any]


def _meta(obj: Body) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _condition(obj: Body, kind: str) -> str | None:
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return str(cond.get("status"))
    return None


def pod_fact(pod: Body) -> PodFact | None:
    """None for pods that are not a tenant's PBX (no zone label)."""
    meta = _meta(pod)
    pod_labels = meta.get("labels") or {}
    zone = pod_labels.get(labels.ZONE)
    if zone is None:
        return None
    epoch = pod_labels.get(labels.EPOCH)
    return PodFact(
        name=meta["name"],
        zone=zone,
        ready=_condition(pod, "Ready") == "True",
        deleted=bool(meta.get("deletionTimestamp")),
        node=(pod.get("spec") or {}).get("nodeName"),
        role=pod_labels.get(labels.ROLE),
        epoch=int(epoch) if epoch and epoch.isdigit() else None,
    )


def node_fact(node: Body) -> NodeFact:
    """Ready only when condition Ready is True and no unreachable/not-ready taint is set."""
    meta = _meta(node)
    taints = {t.get("key") for t in (node.get("spec") or {}).get("taints") or []}
    ready = _condition(node, "Ready") == "True" and not (taints & UNHEALTHY_TAINTS)
    zone = (meta.get("labels") or {}).get(labels.NODE_ZONE, "")
    return NodeFact(name=meta["name"], zone=zone, ready=ready)


def zone_declared_down(node: Body) -> str | None:
    meta = _meta(node)
    node_labels = meta.get("labels") or {}
    if node_labels.get(ZONE_DOWN_LABEL) == "true":
        return node_labels.get(labels.NODE_ZONE)
    return None


def fenced_at(pod: Body) -> float | None:
    value = (_meta(pod).get("annotations") or {}).get(FENCED_AT_ANNOTATION)
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def parse_time(text: str | None) -> float | None:
    if not text:
        return None
    try:
        return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def tenant_state(tenant: Body) -> State:
    """Active zone, epoch, last move (for the flap guard) and a switchover request."""
    status = tenant.get("status") or {}
    last = status.get("lastFailover") or {}
    annotations = _meta(tenant).get("annotations") or {}
    return State(
        active_zone=status.get("activeZone"),
        epoch=int(status.get("epoch") or 0),
        last_promotion_at=parse_time(last.get("at")),
        last_from_zone=last.get("from"),
        switchover_to=annotations.get(SWITCHOVER_ANNOTATION) or None,
        created_at=parse_time(_meta(tenant).get("creationTimestamp")),
    )


def tenant_policy(tenant: Body) -> Policy:
    """From the raw spec (the API server has validated it against the CRD already)."""
    spec = tenant.get("spec") or {}
    failover = spec.get("failover") or {}
    zones = list((spec.get("pbx") or {}).get("zones") or [])
    preferred = [z for z in failover.get("preferredZones") or [] if z in zones]
    order = preferred + [z for z in zones if z not in preferred]
    return Policy(tuple(order), float(failover.get("minIntervalSeconds", 30)))


def rfc3339(ts: float) -> str:
    """Millisecond precision: lastFailover.at feeds the flap guard's arithmetic."""
    moment = datetime.datetime.fromtimestamp(ts, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
