"""The call drill's verdict, a pure function of what the callers did and what the store holds.

Per answered call: the seconds of audio the platform carried (the caller's marker seconds from
the answer to the call's end, cut at the moment its media anchor died when the edge is the
part killed), against the marker seconds heard in each copy the store holds (edge, PBX). A
recording is *complete* when its copies together hold every carried second, *lost* when the
store holds no copy at all; ``maxAudioLostSeconds`` is the most carried seconds that no copy
holds, over every call.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

KILLS = ("none", "pbx", "edge", "shipper", "store-node")


@dataclass(frozen=True)
class PlacedCall:
    call_id: str
    answered_at: float | None  # wall clock; None: never answered (a set-up failure)
    #: "ok", "dropped" (its BYE got no answer) or "ended" (the platform hung up on it)
    result: str
    pbx: str = ""
    #: wall clock of the call's end when the platform ended it ("ended"), else None
    ended_at: float | None = None


@dataclass(frozen=True)
class StoredCopy:
    copy: str  # "edge-fr-par-1a", "pbx-fr-par-1b"
    source: str  # "wav" (written at the call's end) or "chunks" (assembled from them)
    heard: frozenset[int]  # the marker seconds heard in it


@dataclass(frozen=True)
class CallVerdict:
    call_id: str
    carried: int  # seconds of audio the platform carried
    copies: tuple[str, ...]
    missing: tuple[int, ...]  # carried seconds no copy holds
    #: per kind of copy ("edge", "pbx"): the carried seconds that copy alone lacks
    missing_by_kind: tuple[tuple[str, tuple[int, ...]], ...] = ()

    @property
    def lost(self) -> bool:
        return not self.copies

    @property
    def complete(self) -> bool:
        return bool(self.copies) and not self.missing


def carried_seconds(call: PlacedCall, hold_seconds: int, media_died_at: float | None) -> int:
    """The whole marker seconds the caller spoke while the platform carried its audio."""
    if call.answered_at is None:
        return 0
    end = call.answered_at + hold_seconds
    for cut in (call.ended_at, media_died_at):
        if cut is not None and cut < end:
            end = cut
    return max(0, min(hold_seconds, math.floor(end - call.answered_at)))


def judge(call: PlacedCall, carried: int, copies: list[StoredCopy]) -> CallVerdict:
    heard: set[int] = set()
    for stored in copies:
        heard |= stored.heard
    missing = tuple(k for k in range(carried) if k not in heard)
    by_kind = []
    for kind in ("edge", "pbx"):
        held: set[int] = set()
        for stored in copies:
            if stored.copy.split("-")[0] == kind:
                held |= stored.heard
        by_kind.append((kind, tuple(k for k in range(carried) if k not in held)))
    names = tuple(sorted(c.copy for c in copies))
    return CallVerdict(call.call_id, carried, names, missing, tuple(by_kind))


@dataclass
class CallDrillReport:
    calls: int
    kill: str
    killed: str  # what was killed, in words ("" for none)
    killed_after_seconds: float | None  # from the first call's set-up
    hold_seconds: int
    placed: list[PlacedCall]
    verdicts: list[CallVerdict]
    drained_seconds: float  # from the last call's end to every recording shipped
    shipped: dict[str, int] = field(default_factory=dict)  # copies in the store, by source
    max_oldest_unshipped_seconds: float = 0.0

    @property
    def answered(self) -> list[PlacedCall]:
        return [c for c in self.placed if c.answered_at is not None]

    def as_dict(self) -> dict[str, Any]:
        lost = [v for v in self.verdicts if v.lost]
        complete = [v for v in self.verdicts if v.complete]
        return {
            "calls": {
                "planned": self.calls,
                "placed": len(self.placed),
                "answered": len(self.answered),
                "setupFailed": len(self.placed) - len(self.answered),
                "answeredDropped": sum(1 for c in self.answered if c.result != "ok"),
            },
            "kill": {
                "part": self.kill,
                "what": self.killed,
                "afterSeconds": self.killed_after_seconds,
            },
            "recordings": {
                "expected": len(self.verdicts),
                "complete": len(complete),
                "incomplete": len(self.verdicts) - len(complete) - len(lost),
                "lost": len(lost),
                "maxAudioLostSeconds": max((len(v.missing) for v in self.verdicts), default=0),
                "carriedSeconds": sum(v.carried for v in self.verdicts),
                # what each copy alone would have kept (the other copy covers the rest)
                "maxAudioLostSecondsByCopy": {
                    kind: max(
                        (len(dict(v.missing_by_kind)[kind]) for v in self.verdicts), default=0
                    )
                    for kind in ("edge", "pbx")
                },
                "copiesInStore": dict(self.shipped),
                "maxOldestUnshippedSeconds": round(self.max_oldest_unshipped_seconds, 1),
                "drainedSecondsAfterCallsEnded": round(self.drained_seconds, 1),
                "notComplete": [
                    {
                        "callId": v.call_id,
                        "copies": list(v.copies),
                        "missingSeconds": list(v.missing),
                    }
                    for v in self.verdicts
                    if not v.complete
                ][:20],
                # calls where the edge's copy alone lacks audio (the PBX's covered it)
                "edgeCopyGaps": [
                    {"callId": v.call_id, "pbx": c.pbx, "missingSeconds": list(gap)}
                    for v, c in zip(self.verdicts, self.answered, strict=True)
                    if (gap := dict(v.missing_by_kind)["edge"]) and v.copies
                ][:10],
            },
        }

    @property
    def ok(self) -> bool:
        """No recording lost, and each one whole within what the kill allows (an edge's death
        may take the audio of its last unshipped chunk: up to 2 s)."""
        data = self.as_dict()["recordings"]
        if data["lost"]:
            return False
        allowed = 2 if self.kill == "edge" else 0
        return data["maxAudioLostSeconds"] <= allowed

    def text(self) -> str:
        data = self.as_dict()
        calls, rec = data["calls"], data["recordings"]
        killed = (
            f"{self.killed} killed {self.killed_after_seconds:.1f} s into the drill"
            if self.killed and self.killed_after_seconds is not None
            else "nothing killed"
        )
        lines = [
            f"call drill: {self.calls} calls of {self.hold_seconds} s with marker audio, {killed}",
            f"calls: {calls['placed']} placed, {calls['answered']} answered, "
            f"{calls['setupFailed']} set-up failed, {calls['answeredDropped']} answered then dropped",
            f"recordings (read back from the store): {rec['expected']} expected, "
            f"{rec['complete']} complete, {rec['incomplete']} incomplete, {rec['lost']} lost; "
            f"most audio lost in one call: {rec['maxAudioLostSeconds']} s "
            f"(of {rec['carriedSeconds']} s carried; the edge copy alone "
            f"{rec['maxAudioLostSecondsByCopy']['edge']} s, the PBX copy alone "
            f"{rec['maxAudioLostSecondsByCopy']['pbx']} s)",
            "copies in the store: "
            + (", ".join(f"{k} {v}" for k, v in sorted(rec["copiesInStore"].items())) or "none"),
            f"shipping: oldest unshipped audio at most {rec['maxOldestUnshippedSeconds']} s, "
            f"everything in the store {rec['drainedSecondsAfterCallsEnded']} s after the last call ended",
        ]
        for bad in rec["notComplete"][:5]:
            lines.append(
                f"  {bad['callId']}: copies {', '.join(bad['copies']) or 'none'}, "
                f"missing seconds {bad['missingSeconds']}"
            )
        return "\n".join(lines)
