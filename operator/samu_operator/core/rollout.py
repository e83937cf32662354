"""Restarting a tenant's PBX for a change that a reload cannot apply, without a dropped call.

Most changes reach a running PBX by a reload (``pbx_contract.RELOAD_COMMANDS``). A new image,
a new pod template or a change of ``asterisk.conf``/``modules.conf`` needs a restart. The
StatefulSets use ``updateStrategy: OnDelete`` (Kubernetes never restarts a PBX by itself) and
their pod template carries ``REVISION``, a hash of what only a restart applies; a pod whose
label differs is *outdated*. One step at a time, decided here from plain facts:

1. nothing outdated: nothing to do;
2. a PBX is not ready (starting, failing): wait, never two down at once (an outdated standby
   that is not ready serves no call: it is restarted);
3. outdated standbys first, the least preferred zone first: restart (delete the pod);
4. only the active is outdated: ask the failover part for a planned switchover to the most
   preferred updated ready standby; the old active, now a standby, is restarted by rule 3.
"""

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from samu_operator.core import labels

#: Pod template label: the revision of what only a restart applies.
REVISION = f"{labels.GROUP}/pbx-revision"


class Action(StrEnum):
    NONE = "none"
    WAIT = "wait"
    RESTART = "restart"
    SWITCHOVER = "switchover"


@dataclass(frozen=True)
class PbxPod:
    zone: str
    name: str | None  # None: no pod in that zone (being created, unschedulable)
    revision: str | None
    ready: bool
    active: bool


@dataclass(frozen=True)
class Step:
    action: Action
    zone: str | None = None
    pod: str | None = None
    reason: str = ""


def revision(pod_template_spec: Mapping[str, Any], restart_files: Mapping[str, str]) -> str:
    """A short hash of the pod template's spec and the files only a restart applies."""
    text = json.dumps({"spec": pod_template_spec, "files": dict(restart_files)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def next_step(
    pods: Sequence[PbxPod],
    wanted: Mapping[str, str],
    zone_order: Sequence[str],
    switchover_pending: bool,
) -> Step:
    """The one thing to do now (see the module's docstring). ``wanted``: zone -> revision."""
    outdated = [p for p in pods if p.name and p.revision != wanted.get(p.zone)]
    if not outdated:
        return Step(Action.NONE)
    rank = {zone: i for i, zone in enumerate(zone_order)}
    by_least_preferred = sorted(outdated, key=lambda p: -rank.get(p.zone, len(rank)))
    for pod in by_least_preferred:
        if not pod.active and not pod.ready:
            return Step(Action.RESTART, pod.zone, pod.name, "outdated and not serving")
    down = [p for p in pods if not p.name or not p.ready]
    if down:
        return Step(Action.WAIT, down[0].zone, down[0].name, "a PBX is not ready: one at a time")
    standbys = [p for p in by_least_preferred if not p.active]
    if standbys:
        pod = standbys[0]
        return Step(Action.RESTART, pod.zone, pod.name, "outdated standby")
    if switchover_pending:
        return Step(Action.WAIT, reason="a switchover is in progress")
    targets = [
        p
        for p in sorted(pods, key=lambda p: rank.get(p.zone, len(rank)))
        if not p.active and p.ready and p.revision == wanted.get(p.zone)
    ]
    if not targets:
        return Step(Action.WAIT, reason="no updated standby to switch over to")
    return Step(Action.SWITCHOVER, targets[0].zone, reason="only the active is outdated")
