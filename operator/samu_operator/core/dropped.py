"""Answered calls lost with their PBX, made durable where the tenant's ARMs call back from.

The edge's sidecar journals each record (caller, tenant, at, callId...) in a local fsynced
file first, then publishes it to the Kubernetes API (etcd, replicated over the three zones):

- a ConfigMap ``dropped-calls`` in the tenant's Namespace, one key per call,
  ``<UTC time>-<callId hash>`` -> the JSON record. Keys sort by time. **Bounded**: it keeps
  the newest ``CAP`` records (1000, well under the 1 MiB object limit at ~300 bytes each) and
  drops the oldest beyond that; the dropped ones stay in the edge's journal and logs.
- a Warning Event ``AnsweredCallDropped`` on the SamuTenant (``kubectl describe samu``).

Pure decisions over plain data: idempotent by callId (a record whose callId hash is already a
key is never added twice, whatever its time), so re-publishing after a restart is harmless.
The ConfigMap carries no ``samu-platform.io/tenant`` label: the operator prunes only its own
labelled children and must never delete it.
"""

import datetime
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

from samu_operator.core.meta import namespace_of
from samu_operator.model.tenant import API_GROUP, API_VERSION, KIND

CONFIGMAP_NAME = "dropped-calls"
#: Records kept per tenant; the oldest beyond it are dropped from the ConfigMap.
CAP = 1000
EVENT_REASON = "AnsweredCallDropped"
#: Records of calls abandoned before an ARM answered (``core.abandoned``) share the ledger.
ABANDONED = "abandoned"
ABANDONED_EVENT_REASON = "CallAbandoned"
#: A 15 call every destination (PBX, partner, secours) answered with an error: the edge
#: records it with ``"reason": "refused"`` (and its last status) so that an ARM calls back.
REFUSED = "refused"
REFUSED_EVENT_REASON = "CallRefused"
MANAGER = "samu-edge"
_HASH_LEN = 16
_KEY = re.compile(r"^\d{8}T\d{6}\.\d{3}Z-([0-9a-f]{16})$")


class RecordError(ValueError):
    """A journal line that cannot be published (names the missing field)."""


def call_hash(call_id: str) -> str:
    return hashlib.sha256(call_id.encode()).hexdigest()[:_HASH_LEN]


def record_key(record: Mapping[str, Any]) -> str:
    """``20261126T040102.345Z-<16 hex of sha256(callId)>``: a valid ConfigMap key that sorts
    by time (the call-ID itself may hold characters a key may not)."""
    call_id, at = record.get("callId"), record.get("at")
    if not call_id:
        raise RecordError("dropped-call record without callId")
    try:
        when = datetime.datetime.fromtimestamp(float(at), tz=datetime.UTC)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise RecordError(f"dropped-call record {call_id!r}: bad or missing 'at' ({at!r})") from exc
    return f"{when:%Y%m%dT%H%M%S}.{when.microsecond // 1000:03d}Z-{call_hash(str(call_id))}"


def tenant_of(record: Mapping[str, Any]) -> str:
    tenant = record.get("tenant")
    if not tenant or not isinstance(tenant, str):
        raise RecordError(f"dropped-call record {record.get('callId')!r} without tenant")
    return tenant


def by_tenant(records: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        grouped.setdefault(tenant_of(record), []).append(record)
    return grouped


def data_patch(
    existing: Mapping[str, str] | None, records: Iterable[Mapping[str, Any]], cap: int = CAP
) -> dict[str, str | None]:
    """The ``data`` merge patch that adds the records not there yet (by callId) and drops the
    oldest keys beyond ``cap`` (value None = delete). Empty when there is nothing to do."""
    existing = dict(existing or {})
    known = {m.group(1) for key in existing if (m := _KEY.match(key))}
    new: dict[str, str] = {}
    for record in records:
        key = record_key(record)
        digest = key.rsplit("-", 1)[1]
        if digest in known:
            continue
        known.add(digest)
        new[key] = json.dumps(dict(record), sort_keys=True)
    merged = sorted({*existing, *new})
    keep = set(merged[-cap:]) if cap > 0 else set()
    patch: dict[str, str | None] = {k: v for k, v in new.items() if k in keep}
    patch.update({k: None for k in existing if k not in keep})
    return patch


def configmap(tenant: str, data: Mapping[str, str]) -> dict[str, Any]:
    """The ConfigMap to create when the tenant has none yet (no tenant label: see above)."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": CONFIGMAP_NAME,
            "namespace": namespace_of(tenant),
            "labels": {
                "app.kubernetes.io/managed-by": MANAGER,
                "app.kubernetes.io/component": CONFIGMAP_NAME,
            },
            "annotations": {
                "samu-platform.io/description": (
                    "answered calls lost with their PBX, to call back; newest "
                    f"{CAP} kept, one JSON record per key"
                )
            },
        },
        "data": dict(data),
    }


def event(tenant: str, record: Mapping[str, Any], uid: str | None, now: str) -> dict[str, Any]:
    """A Warning Event on the SamuTenant, named after the call: a second create is refused
    (409), so a re-publish never shows the call twice."""
    involved: dict[str, Any] = {
        "apiVersion": f"{API_GROUP}/{API_VERSION}",
        "kind": KIND,
        "name": tenant,
    }
    if uid:
        involved["uid"] = uid
    key = record_key(record)
    where = f"list: kubectl -n {namespace_of(tenant)} get configmap {CONFIGMAP_NAME} -o yaml"
    reason = EVENT_REASON
    if record.get("reason") == ABANDONED:  # a caller who hung up before an ARM answered
        reason = ABANDONED_EVENT_REASON
        message = (
            f"call abandoned before an ARM answered, call back: caller {record.get('caller')} "
            f"at {key[:20]} (queue {record.get('queue')}, waited {record.get('waitSeconds')} s, "
            f"callId {record.get('callId')}); {where}"
        )
    elif record.get("reason") == REFUSED:
        reason = REFUSED_EVENT_REASON
        message = (
            f"15 call refused by every destination (PBX, partner, secours), call back: caller "
            f"{record.get('caller')} at {key[:20]} (last answer {record.get('status')}, callId "
            f"{record.get('callId')}); {where}"
        )
    else:
        message = (
            f"answered call lost with its PBX, call back: caller {record.get('caller')} "
            f"at {key[:20]} (callId {record.get('callId')}, {record.get('method', 'bye')}); "
            f"{where}"
        )
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{tenant}.dropped-{call_hash(str(record['callId']))}",
            "namespace": namespace_of(tenant),
        },
        "involvedObject": involved,
        "type": "Warning",
        "reason": reason,
        "message": message[:1024],
        "source": {"component": MANAGER},
        "reportingComponent": MANAGER,
        "firstTimestamp": now,
        "lastTimestamp": now,
        "count": 1,
    }


def parse_journal(lines: Iterable[str]) -> list[dict[str, Any]]:
    """The journal's records; a torn last line (crash mid-write) is skipped, not fatal."""
    records = []
    for line in lines:
        line = line.strip()
        if not line:
            continue
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            records.append(value)
    return records
