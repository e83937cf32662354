"""The keeper's threads besides sippy's loop: the Redis writer, the PBX-leg watcher (media
counters and probes) and the liveness loop (heartbeat, adoption). Each hands its findings to
the SIP loop with ``ED2.callFromThread``; none touches a user agent itself."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import redis

from samu_keeper.core import leg_health, media_watch
from samu_keeper.core.call_state import CallState
from samu_keeper.media import Keys, Media
from samu_keeper.probe import Prober
from samu_keeper.store import CallStore

LOG = logging.getLogger(__name__)
Post = Callable[..., None]  # ED2.callFromThread
#: counter reads sent together (replies of about 2 KB each: well within a socket's buffer)
BATCH = 50


class StoreWriter(threading.Thread):
    """Writes kept calls' records in order, the newest state of a call winning; a Redis
    outage delays writes (retried every 0.5 s) and never blocks the SIP loop."""

    def __init__(self, store: CallStore) -> None:
        super().__init__(name="keeper-store", daemon=True)
        self.store = store
        self.cond = threading.Condition()
        self.pending: dict[str, CallState | None] = {}
        self.stopping = False

    def save(self, state: CallState) -> None:
        with self.cond:
            self.pending[state.call_id] = state
            self.cond.notify()

    def forget(self, call_id: str) -> None:
        with self.cond:
            self.pending[call_id] = None
            self.cond.notify()

    def flush(self, timeout: float = 5.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.cond:
                if not self.pending and not getattr(self, "_busy", False):
                    return True
            time.sleep(0.01)
        return False

    def run(self) -> None:
        while not self.stopping:
            with self.cond:
                while not self.pending and not self.stopping:
                    self.cond.wait(1.0)
                batch, self.pending = self.pending, {}
                self._busy = True
            try:
                for call_id, state in batch.items():
                    if state is None:
                        self.store.forget(call_id)
                    else:
                        self.store.save(state)
            except redis.RedisError as exc:
                LOG.error("Redis write failed, retrying: %s", exc)
                with self.cond:
                    for call_id, state in batch.items():
                        self.pending.setdefault(call_id, state)
                time.sleep(0.5)
            finally:
                self._busy = False


@dataclass
class Watched:
    keys: Keys
    pbx: tuple[str, int]
    generation: int
    watch: media_watch.Watch
    #: the dead leg's watch while a rescued call waits for the new PBX's first audio
    old: media_watch.Watch | None = None


class Watcher(threading.Thread):
    """Polls rtpengine's counters of every kept call's PBX leg (every ``poll_s``) and probes
    every PBX holding calls (every ``probe_s``); a dead leg goes to ``on_dead``, a rescued
    leg's first audio (the gap) to ``on_audio``."""

    def __init__(
        self, media: Media, post: Post, on_dead: Any, on_audio: Any, settings: Any
    ) -> None:
        super().__init__(name="keeper-watch", daemon=True)
        self.media, self.post, self.on_dead, self.on_audio = media, post, on_dead, on_audio
        self.settings = settings
        self.lock = threading.Lock()
        self.calls: dict[str, Watched] = {}
        self.prober = Prober()
        self.stopping = False
        self.rounds = 0
        self.busy_s = 0.0  # time spent polling: the watcher's cost

    def add(
        self, call_id: str, keys: Keys, pbx: tuple[str, int], generation: int,
        old: media_watch.Watch | None = None,
    ) -> None:  # fmt: skip
        # rtpengine counts per tag, and the PBX side keeps its tag through a rescue: the new
        # leg's audio is what the count gains over the dead leg's last count
        baseline = old.packets if old is not None else -1
        with self.lock:
            watch = media_watch.Watch(
                since=time.monotonic(), packets=baseline, first_read_is_audio=old is None
            )
            self.calls[call_id] = Watched(keys, pbx, generation, watch, old)

    def remove(self, call_id: str) -> media_watch.Watch | None:
        with self.lock:
            found = self.calls.pop(call_id, None)
        return None if found is None else found.watch

    def run(self) -> None:
        next_probe = 0.0
        while not self.stopping:
            start = time.monotonic()
            with self.lock:
                snapshot = list(self.calls.items())
            send = start >= next_probe
            if send:
                next_probe = start + self.settings.probe_s
            probes = self.prober.round({w.pbx for _, w in snapshot}, send=send)
            # a PBX whose port refuses (its process is gone): every call on it at once, without
            # reading counters; unanswered probes only count with each call's media below
            dead = {
                address: leg_health.judge({"transportError": error})
                for address, (error, _failures) in probes.items()
                if error
            }
            rest = []
            for call_id, watched in snapshot:
                if watched.pbx in dead:
                    self._dead(call_id, watched, dead[watched.pbx], watched.watch)
                else:
                    rest.append((call_id, watched))
            for first in range(0, len(rest), BATCH):
                batch = rest[first : first + BATCH]
                try:
                    counts = self.media.pbx_packets_many(
                        [w.keys for _, w in batch], timeout=self.settings.poll_s
                    )
                except Exception as exc:  # rtpengine gone: no media verdict this round
                    LOG.debug("query: %s", exc)
                    counts = [None] * len(batch)
                now = time.monotonic()
                for (call_id, watched), packets in zip(batch, counts, strict=True):
                    failures = probes.get(watched.pbx, ("", 0))[1]
                    self._poll(call_id, watched, packets, failures, now)
            self.rounds += 1
            spent = time.monotonic() - start
            self.busy_s += spent
            time.sleep(max(0.0, self.settings.poll_s - spent))
        self.prober.close()

    def _poll(
        self, call_id: str, watched: Watched, packets: int | None, failures: int, now: float
    ) -> None:
        watch = media_watch.observe(watched.watch, packets, now)
        with self.lock:
            current = self.calls.get(call_id)
            if current is None or current.generation != watched.generation:
                return
            current.watch = watch
            old = current.old
            if old is not None and watch.first_audio_at is not None:
                current.old = None
        if old is not None and watch.first_audio_at is not None:
            gap = media_watch.gap_seconds(old, watch)
            self.post(self.on_audio, call_id, watched.generation, gap)
        observation: dict[str, Any] = {"probeFailures": failures}
        if packets is not None:
            observation["mediaSilentSeconds"] = media_watch.silent_seconds(watch, now)
        verdict = leg_health.judge(
            observation, self.settings.media_silence_s, self.settings.probe_failures
        )
        if verdict.dead:
            self._dead(call_id, watched, verdict, watch)

    def _dead(
        self, call_id: str, watched: Watched, verdict: leg_health.Verdict,
        watch: media_watch.Watch,
    ) -> None:  # fmt: skip
        with self.lock:
            current = self.calls.get(call_id)
            if current is None or current.generation != watched.generation:
                return
            del self.calls[call_id]
        self.post(self.on_dead, call_id, watched.generation, verdict, watch)


class Liveness(threading.Thread):
    """Refreshes this keeper's heartbeat (every third of its expiry) and adopts the calls of
    peers whose heartbeat expired: at once when a peer disappears, and every
    ``sweep_s`` anyway (a call whose adopter died too)."""

    def __init__(
        self, store: CallStore, ttl_ms: int, post: Post, on_adopted: Any, sweep_s: float = 10.0
    ) -> None:
        super().__init__(name="keeper-liveness", daemon=True)
        self.store, self.ttl_ms, self.post, self.on_adopted = store, ttl_ms, post, on_adopted
        self.sweep_s = sweep_s
        self.stopping = False
        self.live: set[str] = set()

    def run(self) -> None:
        next_sweep = 0.0
        while not self.stopping:
            try:
                self.store.heartbeat(self.ttl_ms)
                live = set(self.store.live_keepers())
                now = time.monotonic()
                if self.live - live or now >= next_sweep:
                    adopted = self.store.adopt_orphans()
                    if adopted:
                        self.post(self.on_adopted, adopted)
                    next_sweep = now + self.sweep_s
                self.live = live
            except redis.RedisError as exc:
                LOG.error("Redis unreachable for the heartbeat: %s", exc)
            time.sleep(self.ttl_ms / 3000)
