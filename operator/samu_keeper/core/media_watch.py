"""Is the PBX still sending audio? Per-leg RTP counters from rtpengine, read by polling.

rtpengine counts, per monologue (tag), the packets it received from that side. The keeper
polls each kept call's counters (``query``) every ``poll`` seconds: a PBX leg whose count has
not moved for ``media_silence_s`` is silent (a SIGSTOPped, frozen or partitioned PBX; an ARM's
phone always sends RTP while the call is answered). The same counters time the caller's gap
in a rescue: from the old PBX's last packet to the new PBX's first.

Polling cost: one ng round trip per call and poll (about 0.5 ms on loopback for rtpengine and
client together); at ``poll`` = 0.2 s that is 5 queries a second per call. The benchmark
measures it (tests/benchmarks/bench_keeper.py).
"""

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

DEFAULT_POLL_S = 0.2


@dataclass(frozen=True)
class Watch:
    """What the last polls saw of one PBX leg."""

    since: float  # when watching this leg began (its answer)
    packets: int = -1  # the leg's count at the last poll (-1: never read)
    last_audio_at: float | None = None  # the poll at which the count last grew
    first_audio_at: float | None = None  # the poll at which it first grew
    #: does a first read that finds packets count as audio? Yes for an answered leg; no for a
    #: rescued leg whose dead predecessor was never read (the count holds the dead leg's
    #: packets: the first read is only the baseline)
    first_read_is_audio: bool = True


def packets_from(reply: Mapping[str, Any], tag: str) -> int | None:
    """RTP packets rtpengine received from the side ``tag`` (its ``query`` reply), or None
    when the reply does not know that side (the call was deleted, or is not answered yet)."""
    side = (reply.get("tags") or {}).get(tag)
    if not isinstance(side, Mapping):
        return None
    total = 0
    for media in side.get("medias") or []:
        for stream in media.get("streams") or []:
            if "RTCP" in (stream.get("flags") or []):
                continue
            total += int((stream.get("stats") or {}).get("packets") or 0)
    return total


def observe(watch: Watch, packets: int | None, now: float) -> Watch:
    """The watch after one poll; an unreadable count changes nothing (no verdict from it)."""
    if packets is None:
        return watch
    if watch.packets >= 0 and packets > watch.packets:
        first = watch.first_audio_at if watch.first_audio_at is not None else now
        return replace(watch, packets=packets, last_audio_at=now, first_audio_at=first)
    if watch.packets < 0 and not watch.first_read_is_audio:
        return replace(watch, packets=packets)
    if watch.packets < 0 and packets > 0:
        # the first read of a leg that already sent: it was alive a moment ago
        return replace(watch, packets=packets, last_audio_at=now, first_audio_at=now)
    return replace(watch, packets=packets)


def silent_seconds(watch: Watch, now: float) -> float:
    """Seconds since the PBX leg last sent audio (since the watch began if it never did)."""
    return max(0.0, now - (watch.last_audio_at if watch.last_audio_at is not None else watch.since))


def gap_seconds(old: Watch, new: Watch) -> float | None:
    """The caller's gap in a rescue: old leg's last audio to the new leg's first (None until
    the new leg sent anything)."""
    if new.first_audio_at is None:
        return None
    start = old.last_audio_at if old.last_audio_at is not None else old.since
    return max(0.0, new.first_audio_at - start)
