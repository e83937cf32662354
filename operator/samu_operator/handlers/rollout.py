"""Applies a change that needs a PBX restart, one PBX at a time and never the active one
(``core.rollout`` decides; this timer reads the facts and does the one step).

A restart is a pod deletion (the StatefulSets are ``OnDelete``); the active PBX is never
deleted: a planned switchover (the failover part's annotation) moves its calls first.
"""

import os
from typing import Any

import kopf

from samu_operator import kube
from samu_operator.core import rollout
from samu_operator.core.desired import wanted_revisions
from samu_operator.core.fencing import SWITCHOVER_ANNOTATION
from samu_operator.core.meta import namespace_of
from samu_operator.handlers import state
from samu_operator.handlers.tenants import TENANTS, pods_by_zone
from samu_operator.model.tenant import KIND

ROLLOUT_ENV = "SAMU_ROLLOUT_SECONDS"


def facts(body: kopf.Body, pbx_index: kopf.Index) -> tuple[Any, list[rollout.PbxPod]] | None:
    tenant, problem = state.parse(body)
    if tenant is None or problem is not None:
        return None
    pods = pods_by_zone(pbx_index, tenant.name)
    active = (body.get("status") or {}).get("activeZone")
    out = []
    for zone in tenant.spec.pbx.zones:
        pod = pods.get(zone) or {}
        is_active = pod.get("role") == "active" or (zone == active and not pod.get("role"))
        out.append(
            rollout.PbxPod(
                zone, pod.get("name"), pod.get("revision"), bool(pod.get("ready")), is_active
            )
        )
    return tenant, out


@kopf.timer(*TENANTS, interval=float(os.environ.get(ROLLOUT_ENV, "5")))
def rollout_step(body: kopf.Body, pbx_index: kopf.Index, logger: kopf.Logger, **_: Any) -> None:
    found = facts(body, pbx_index)
    meta = body.get("metadata") or {}
    if found is None or meta.get("deletionTimestamp"):
        return
    tenant, pods = found
    switchover = bool((meta.get("annotations") or {}).get(SWITCHOVER_ANNOTATION))
    wanted = wanted_revisions(state.desired_for(tenant, body))
    step = rollout.next_step(pods, wanted, tenant.spec.zone_order, switchover)
    if step.action == rollout.Action.RESTART and step.pod:
        logger.info(f"restarting {step.pod} ({step.reason}) to apply a change")
        kopf.info(dict(body), reason="PbxRestart", message=f"{step.pod}: {step.reason}")
        kube.shared().delete(kube.Ref("v1", "Pod", namespace_of(tenant.name), step.pod))
    elif step.action == rollout.Action.SWITCHOVER and step.zone:
        message = f"planned switchover to {step.zone} before restarting the active PBX"
        logger.info(message)
        kopf.info(dict(body), reason="PbxRestartSwitchover", message=message)
        ref = kube.Ref(kube.TENANT_API, KIND, None, tenant.name)
        kube.shared().merge(ref, {"metadata": {"annotations": {SWITCHOVER_ANNOTATION: step.zone}}})
