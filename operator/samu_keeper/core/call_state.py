"""A kept call's state as plain data, replicated so that a peer keeper can adopt the call.

One record per call, stored under ``key(call_id)`` in the shared store (Redis): both legs'
dialog identifiers (Call-ID, tags, CSeqs, route set, remote target), the rtpengine keys that
address the call's media, who the caller is, the queue and position that had the call, and
the keeper that owns it. A record is written when the PBX leg is answered and on every change
of a leg (CSeq bump, rescue), so a peer holds everything needed to send in-dialog requests on
both legs without ever having seen them.

Which peer adopts an orphaned call is decided by rendezvous hashing over the live keepers:
every peer computes the same owner on its own, so no two peers adopt the same call and no
lock or election is needed.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

KEY_PREFIX = "samu:keeper:call:"


class StateError(ValueError):
    """A replicated record that cannot be adopted (names the field and what it must be)."""


@dataclass(frozen=True)
class Leg:
    """One SIP dialog as a UA on the keeper's side sees it."""

    call_id: str
    local_tag: str
    remote_tag: str
    local_cseq: int
    remote_cseq: int
    remote_target: str  # the peer's Contact URI
    route_set: tuple[str, ...] = ()
    #: the dialog's From/To as this side sends them (name-addr, without tag): a peer that
    #: adopts the call sends in-dialog requests with the same identities
    local_uri: str = ""
    remote_uri: str = ""


@dataclass(frozen=True)
class CallState:
    call_id: str  # the carrier leg's Call-ID: the call's name everywhere
    tenant: str
    caller: str  # the caller's number or URI, as the carrier presented it
    carrier: Leg
    pbx: Leg
    pbx_uri: str  # the PBX currently holding the call
    rtpengine: Mapping[str, str]  # {"call-id", "from-tag", "to-tag"} for ng commands
    owner: str  # the keeper instance that holds the call
    queue: str = ""
    position: str = ""
    answered_at: float = 0.0
    rescues: int = 0
    #: the tenant's PBX set as the edge gave it with the call, active first: where a rescue
    #: looks for the next PBX
    targets: tuple[str, ...] = ()
    #: the SDPs a peer needs to go on with the call: ``caller_offer`` (the caller's own, what
    #: a rescue re-offers to rtpengine), ``caller_answer`` (what the caller got), ``pbx_offer``
    #: and ``pbx_answer`` (the PBX leg's)
    extra: Mapping[str, str] = field(default_factory=dict)


def key(call_id: str) -> str:
    return KEY_PREFIX + call_id


def to_json(state: CallState) -> str:
    return json.dumps(asdict(state), sort_keys=True, separators=(",", ":"))


def _field(data: Mapping[str, Any], name: str, kind: type, where: str) -> Any:
    value = data.get(name)
    if kind is int and isinstance(value, bool):
        value = None
    if not isinstance(value, kind) or (kind is str and not value):
        raise StateError(
            f"{where}: field {name!r} must be a non-empty {kind.__name__}, got {value!r}"
        )
    return value


def _leg(data: Any, where: str) -> Leg:
    if not isinstance(data, Mapping):
        raise StateError(f"{where}: must be an object with the dialog's identifiers")
    routes = data.get("route_set", [])
    if not isinstance(routes, list | tuple) or not all(isinstance(r, str) for r in routes):
        raise StateError(f"{where}: field 'route_set' must be a list of Route URIs")
    return Leg(
        call_id=_field(data, "call_id", str, where),
        local_tag=_field(data, "local_tag", str, where),
        remote_tag=_field(data, "remote_tag", str, where),
        local_cseq=_field(data, "local_cseq", int, where),
        remote_cseq=_field(data, "remote_cseq", int, where),
        remote_target=_field(data, "remote_target", str, where),
        route_set=tuple(routes),
        local_uri=str(data.get("local_uri") or ""),
        remote_uri=str(data.get("remote_uri") or ""),
    )


def from_json(text: str) -> CallState:
    """The state in a replicated record; a record a peer cannot act on raises ``StateError``."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise StateError(f"kept-call record is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise StateError("kept-call record must be a JSON object")
    where = f"kept call {data.get('call_id')!r}"
    targets = data.get("targets", [])
    if not isinstance(targets, list | tuple) or not all(isinstance(t, str) for t in targets):
        raise StateError(f"{where}: field 'targets' must be a list of PBX URIs")
    extra = data.get("extra") or {}
    if not isinstance(extra, dict) or not all(isinstance(v, str) for v in extra.values()):
        raise StateError(f"{where}: field 'extra' must map names to strings (the call's SDPs)")
    rtp = data.get("rtpengine")
    if not isinstance(rtp, dict) or not all(rtp.get(k) for k in ("call-id", "from-tag", "to-tag")):
        raise StateError(f"{where}: field 'rtpengine' must hold 'call-id', 'from-tag' and 'to-tag'")
    return CallState(
        call_id=_field(data, "call_id", str, where),
        tenant=_field(data, "tenant", str, where),
        caller=_field(data, "caller", str, where),
        carrier=_leg(data.get("carrier"), f"{where}, carrier leg"),
        pbx=_leg(data.get("pbx"), f"{where}, PBX leg"),
        pbx_uri=_field(data, "pbx_uri", str, where),
        rtpengine=dict(rtp),
        owner=_field(data, "owner", str, where),
        queue=str(data.get("queue") or ""),
        position=str(data.get("position") or ""),
        answered_at=float(data.get("answered_at") or 0.0),
        rescues=int(data.get("rescues") or 0),
        targets=tuple(targets),
        extra=dict(extra),
    )


def adopter(call_id: str, live_keepers: Iterable[str]) -> str | None:
    """The live keeper that adopts ``call_id`` (rendezvous hashing), or None if none is live."""

    def weight(keeper: str) -> bytes:
        return hashlib.sha256(f"{keeper}\0{call_id}".encode()).digest()

    return max(sorted(set(live_keepers)), key=weight, default=None)


def orphans_for(
    me: str, states: Iterable[CallState], live_keepers: Iterable[str]
) -> list[CallState]:
    """The calls whose owner is gone and which ``me`` must adopt (``me`` counts as live)."""
    live = set(live_keepers) | {me}
    return [s for s in states if s.owner not in live and adopter(s.call_id, live) == me]
