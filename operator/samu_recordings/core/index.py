"""The index entry of one copy of one call: what ``samuctl recordings`` lists and filters."""

import json
from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class IndexEntry:
    tenant: str
    call_id: str
    caller: str | None
    called: str | None
    start: str  # ISO 8601 UTC
    end: str
    copy: str  # edge-<zone> | pbx-<zone>
    zone: str
    chunks: int
    wav: str  # object name of the playable WAV
    seconds: float
    copies: list[str] = field(default_factory=list)
    zones: list[str] = field(default_factory=list)

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> "IndexEntry":
        raw = json.loads(data)
        return cls(**{k: raw.get(k) for k in cls.__dataclass_fields__ if k in raw})


def merge(entries: list[IndexEntry]) -> dict[str, object]:
    """One call as seen through all its copies (edge and PBX): the widest span, every copy and
    zone, the caller and called number from whichever copy knows them."""
    first = min(entries, key=lambda e: e.start)
    return {
        "tenant": first.tenant,
        "callId": first.call_id,
        "caller": next((e.caller for e in entries if e.caller), None),
        "called": next((e.called for e in entries if e.called), None),
        "start": first.start,
        "end": max(e.end for e in entries),
        "copies": sorted(e.copy for e in entries),
        "zones": sorted({e.zone for e in entries}),
        "wavs": {e.copy: e.wav for e in entries},
    }
