"""Finding a call's recording in the store and getting it back as a WAV (``samuctl
recordings``).

Lookups go through the index prefixes (see ``core.naming``): by Call-ID, by caller (and day),
by day. A call whose edge died mid-call has no index entry and no WAV but its chunks: ``get``
then finds them by Call-ID and day, in the tenant's container or in the in-flight one, and
assembles the WAV from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from samu_recordings.core import naming, wav
from samu_recordings.core.index import IndexEntry, merge
from samu_recordings.store import Store, StoreError


class NotFoundError(LookupError):
    """No recording matches."""


def _containers(tenant: str) -> list[str]:
    return [naming.container_name(tenant), naming.INFLIGHT_CONTAINER]


def _list(store: Store, container: str, prefix: str) -> list[str]:
    try:
        return store.list(container, prefix)
    except StoreError as err:
        if "404" in str(err):  # no such container yet: nothing recorded there
            return []
        raise


def find(
    store: Store,
    tenant: str,
    date: str | None = None,
    caller: str | None = None,
    call_id: str | None = None,
    limit: int = 100,
) -> list[dict[str, object]]:
    """Calls of ``tenant`` matching every filter given, newest first, merged over copies."""
    if call_id:
        prefix = f"index/call-id/{naming.safe_call_id(call_id)}/"
    elif caller:
        prefix = f"index/caller/{naming.safe_call_id(caller)}/" + (f"{date}/" if date else "")
    elif date:
        prefix = f"index/date/{date}/"
    else:
        prefix = "index/date/"
    entries: dict[str, list[IndexEntry]] = {}
    for container in _containers(tenant):
        for name in _list(store, container, prefix):
            entry = IndexEntry.from_json(store.get(container, name))
            if entry.tenant != tenant and not (entry.tenant == "" and call_id):
                continue  # an orphan's tenant is unknown: only its Call-ID finds it
            if (date and not entry.start.startswith(date)) or (caller and entry.caller != caller):
                continue
            entries.setdefault(entry.call_id, []).append(entry)
            if entry.tenant == "":  # orphan in flight: its WAV is there
                entries[entry.call_id][-1] = _in(entry, container)
    calls = [merge(group) for group in entries.values()]
    for call in calls:
        call["tenant"] = tenant
    calls.sort(key=lambda c: str(c["start"]), reverse=True)
    return calls[:limit]


def _in(entry: IndexEntry, container: str) -> IndexEntry:
    return IndexEntry(**{**entry.__dict__, "wav": f"{container}:{entry.wav}"})


@dataclass(frozen=True)
class Fetched:
    wav: bytes
    copy: str
    source: str  # "wav" (written at the call's end) or "chunks" (assembled here)
    container: str


def get(
    store: Store, tenant: str, call_id: str, date: str | None = None, copy: str | None = None
) -> Fetched:
    """The call's WAV: the one written at its end, else one assembled from its chunks."""
    for call in find(store, tenant, call_id=call_id):
        wavs: dict[str, str] = call["wavs"]  # type: ignore[assignment]
        for name in _prefer(wavs, copy):
            container, _, obj = wavs[name].rpartition(":")
            container = container or naming.container_name(tenant)
            try:
                return Fetched(store.get(container, obj), name, "wav", container)
            except StoreError as err:
                if "404" not in str(err):
                    raise
    days = [date] if date else _recent_days()
    for day in days:
        for container in _containers(tenant):
            prefix = naming.call_prefix(day, call_id)
            names = _list(store, container, prefix)
            copies = sorted({n[len(prefix) :].split("/")[0] for n in names if "/chunk-" in n})
            for name in _prefer(dict.fromkeys(copies, ""), copy):
                chunks = [n for n in names if n.startswith(f"{prefix}{name}/chunk-")]
                data = b"".join(store.get(container, n) for n in sorted(chunks))
                return Fetched(_to_wav(data), name, "chunks", container)
    where = f" on {date}" if date else " (searched the index, and chunks of the last 2 days)"
    raise NotFoundError(f"no recording of tenant {tenant} with Call-ID {call_id}{where}")


def _to_wav(data: bytes) -> bytes:
    return wav.pbx_wav(data) if data[:4] == b"RIFF" else wav.pcap_to_wav(data)


def _prefer(copies: dict[str, str], wanted: str | None) -> list[str]:
    """Edge copies first (caller and centre on two channels), or only the copy asked for."""
    names = sorted(copies, key=lambda c: (not c.startswith("edge-"), c))
    if wanted:
        names = [n for n in names if n == wanted or n.startswith(f"{wanted}-")]
    return names


def _recent_days() -> list[str]:
    today = datetime.now(UTC).date()
    return [str(today), str(today - timedelta(days=1))]
