"""Names in the store: the tenant's container, each chunk, each call's WAV and index entries.

Layout of container ``recordings-<tenant>`` (one per tenant, so a tenant is found by its
container):

- ``calls/<date>/<call-id>/<copy>/chunk-<seq>``: the raw recording (pcap or WAV bytes) cut in
  chunks of at most 2 s; concatenated in order they give back the file the recorder wrote;
- ``calls/<date>/<call-id>/<copy>.wav``: the playable WAV written at the call's end;
- ``index/date/<date>/<call-id>/<copy>.json``, ``index/call-id/<call-id>/<copy>.json`` and
  ``index/caller/<caller>/<date>/<call-id>/<copy>.json``: the same index entry under three
  prefixes, so that a listing with a prefix finds a call by date, by Call-ID or by caller
  without reading every entry (Swift lists names, not contents). One object per copy (``edge-
  <zone>``, ``pbx-<zone>``): the two shippers of a call never write the same object.

``<date>`` is the call's UTC start day (``YYYY-MM-DD``), ``<call-id>`` the Call-ID made safe
(``safe_call_id``).
"""

import re
from datetime import UTC, datetime

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]")
SECONDS_PER_DAY = 86400


#: Where the edge ships a call's chunks while the call lasts: rtpengine writes the call's
#: metadata (and so its tenant) only at the call's end. At the end the chunks are copied
#: (server-side) to the tenant's container; an edge that died mid-call leaves them here,
#: found by Call-ID.
INFLIGHT_CONTAINER = "recordings-inflight"


def container_name(tenant: str) -> str:
    """The tenant's Swift container (as the infra program creates it)."""
    return f"recordings-{tenant}"


def safe_call_id(call_id: str) -> str:
    """The Call-ID as used in file and object names: every character but ``A-Za-z0-9._@+-``
    removed, as Asterisk's ``${FILTER(A-Za-z0-9._@+-,<Call-ID>)}`` does for MixMonitor's
    ``<Call-ID-safe>.wav``, so that the edge and PBX copies of a call share one name."""
    safe = _UNSAFE.sub("", call_id)
    if not safe:
        raise ValueError(
            f"call_id: {call_id!r} has no usable character; the recording's metadata must name its Call-ID"
        )
    return safe


def call_date(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")


def copy_name(source: str, zone: str) -> str:
    return f"{source}-{zone}"


def call_prefix(date: str, call_id: str) -> str:
    return f"calls/{date}/{safe_call_id(call_id)}/"


def chunk_name(date: str, call_id: str, copy: str, seq: int) -> str:
    return f"{call_prefix(date, call_id)}{copy}/chunk-{seq:06d}"


def wav_name(date: str, call_id: str, copy: str) -> str:
    return f"{call_prefix(date, call_id)}{copy}.wav"


def index_names(date: str, call_id: str, caller: str | None, copy: str) -> list[str]:
    cid = safe_call_id(call_id)
    names = [f"index/date/{date}/{cid}/{copy}.json", f"index/call-id/{cid}/{copy}.json"]
    if caller:
        names.append(f"index/caller/{_UNSAFE.sub('', caller)}/{date}/{cid}/{copy}.json")
    return names


def delete_after(retention_days: int | None) -> int | None:
    """``X-Delete-After`` seconds for a retention in days; None keeps the object forever."""
    if retention_days is None:
        return None
    if retention_days < 1:
        raise ValueError(f"retentionDays: {retention_days}; give a number of days >= 1")
    return retention_days * SECONDS_PER_DAY
