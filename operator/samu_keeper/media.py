"""The keeper's calls in rtpengine (ng protocol, samu_rtpengine): offer and answer with the
edge's recording flags, the rescue prompt, the re-answer of a rescue, the end, and the PBX
leg's packet counter.

Addressing: one rtpengine call per kept call, named by the carrier leg: ``call-id`` the
carrier Call-ID, ``from-tag`` the caller's tag, ``to-tag`` the keeper's own tag towards the
caller, which stays the same whichever PBX holds the call. A rescue re-offers the caller's
SDP and answers with the new PBX's: with ``port-latching`` rtpengine keeps every local port,
so the caller's side (address, port, the single edge recording) never changes and the
carrier needs no re-INVITE.
"""

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from samu_keeper.core import media_watch
from samu_rtpengine.ng import NgClient, NgError

#: after an offer rtpengine did not answer, new calls skip it for this long (as the edge's
#: Kamailio does, EDGE_RTPENGINE_DISABLE_S): each would otherwise wait the whole timeout
BACKOFF_S = 5.0

#: What the edge's Kamailio gives rtpengine_offer/answer today (replace-origin
#: replace-session-connection ICE=remove port-latching).
_COMMON = {"replace": ["origin", "session-connection"], "ICE": "remove", "flags": ["port-latching"]}


@dataclass(frozen=True)
class Keys:
    call_id: str
    from_tag: str
    to_tag: str

    def ng(self, with_to: bool = True) -> dict[str, str]:
        keys = {"call-id": self.call_id, "from-tag": self.from_tag}
        if with_to:
            keys["to-tag"] = self.to_tag
        return keys

    def as_record(self) -> dict[str, str]:
        return self.ng()

    @classmethod
    def of_record(cls, record: Mapping[str, str]) -> "Keys":
        return cls(record["call-id"], record["from-tag"], record["to-tag"])


def metadata(tenant: str, caller: str, called: str, call_id: str) -> str:
    """The recording metadata the edge writes for every call (read by the recording shipper)."""
    return f"tenant:{tenant}|caller:{caller}|called:{called}|callid:{call_id}"


class Media:
    """Blocking ng commands (the keeper runs them off its SIP loop)."""

    def __init__(
        self, client: NgClient, directions: tuple[str, ...] = (), backoff_s: float = BACKOFF_S
    ) -> None:
        self.client = client
        self.directions = list(directions)
        self.backoff_s = backoff_s
        self._skip_until = 0.0
        self._lock = threading.Lock()

    def _sdp(self, reply: Mapping[str, object]) -> str:
        sdp = reply.get("sdp")
        if not isinstance(sdp, str) or not sdp:
            raise RuntimeError(f"rtpengine replied without SDP: {dict(reply)}")
        return sdp

    def offer(self, keys: Keys, sdp: str, meta: str = "") -> str:
        """The caller's SDP in; the SDP for the PBX (rtpengine's internal side) out. A new
        call (``meta`` given) fails at once while rtpengine is being skipped."""
        params: dict[str, object] = {**keys.ng(with_to=False), "sdp": sdp, **_COMMON}
        if self.directions:
            params["direction"] = self.directions
        params["record-call"] = "yes"
        if meta:
            params["metadata"] = meta
            with self._lock:
                if time.monotonic() < self._skip_until:
                    raise NgError("rtpengine skipped: it left an offer unanswered moments ago")
        try:
            return self._sdp(self.client.command("offer", **params))
        except NgError as exc:
            if meta and "no answer" in str(exc):
                with self._lock:
                    self._skip_until = time.monotonic() + self.backoff_s
            raise

    def answer(self, keys: Keys, sdp: str) -> str:
        """The PBX's SDP in; the SDP for the caller (rtpengine's carrier side) out."""
        params = {**keys.ng(), "sdp": sdp, **_COMMON, "record-call": "yes"}
        return self._sdp(self.client.command("answer", **params))

    def pbx_moves(self, keys: Keys, pbx_sdp: str, caller_sdp: str) -> str:
        """A PBX re-INVITE: its new SDP offered from the PBX side, answered with the caller's
        own SDP (the caller's side stays as it is); returns the SDP for the PBX's 200."""
        reverse = {"call-id": keys.call_id, "from-tag": keys.to_tag, "to-tag": keys.from_tag}
        params: dict[str, object] = {**reverse, "sdp": pbx_sdp, **_COMMON}
        if self.directions:
            params["direction"] = list(reversed(self.directions))
        self.client.command("offer", **params)
        return self._sdp(self.client.command("answer", **reverse, sdp=caller_sdp, **_COMMON))

    def play(self, keys: Keys, path: str) -> None:
        """Plays the prompt file to the caller (rtpengine reads the file itself)."""
        self.client.command("play media", **keys.ng(with_to=False), file=path)

    def stop_playing(self, keys: Keys) -> None:
        self.client.command("stop media", **keys.ng(with_to=False))

    def delete(self, keys: Keys) -> None:
        self.client.command("delete", **keys.ng(with_to=False))

    def pbx_packets(self, keys: Keys) -> int | None:
        """RTP packets rtpengine got from the PBX leg so far (None: not known to rtpengine)."""
        reply = self.client.command("query", **{"call-id": keys.call_id})
        return media_watch.packets_from(reply, keys.to_tag)

    def pbx_packets_many(self, calls: list[Keys], timeout: float) -> list[int | None]:
        """``pbx_packets`` for many calls in one round trip (None where a reply failed or
        came later than ``timeout``: no verdict from it, the next poll reads again)."""
        replies = self.client.many(
            "query", [{"call-id": k.call_id} for k in calls], timeout=timeout, retries=0
        )
        return [
            None if isinstance(reply, Exception) else media_watch.packets_from(reply, keys.to_tag)
            for keys, reply in zip(calls, replies, strict=True)
        ]
