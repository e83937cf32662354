"""The recording shipper daemon: ``python -m samu_recordings.shipper``.

A thin loop around ``core``: every ``poll_seconds`` it lists the spool, ships each recording's
closed chunks in order (one chunk confirmed by the store, then journalled, then the next),
and at a call's end writes its playable WAV and index entries, then removes the local files.
Configured by environment variables (``samu_recordings.core.config``); see docs/recordings.md.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

from samu_recordings import sources
from samu_recordings.core import alerts, chunking, naming, pcap, wav
from samu_recordings.core.config import ConfigError, ShipperConfig, from_env
from samu_recordings.core.index import IndexEntry
from samu_recordings.journal import Journal, Progress
from samu_recordings.metrics import ShipperMetrics
from samu_recordings.store import Store, StoreConfigError, StoreError
from samu_recordings.tenants import EdgeCalls

log = logging.getLogger("samu_recordings.shipper")
#: Concurrent server-side copies when a finished edge call's chunks move to its tenant.
COPY_THREADS = 4
#: Chunks shipped per recording at each look: when the store is slower than the recorders,
#: every recording still gets its turn (a shipper that emptied one backlog before the next
#: left 166 of 200 calls with nothing in the store 8 s into the call drill).
CHUNKS_PER_LOOK = 2


class UnshippableError(ValueError):
    """A recording's metadata lacks what naming it in the store needs (kept on disk)."""


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


class Shipper:
    def __init__(
        self, config: ShipperConfig, store_factory: Callable[[], Store], metrics: ShipperMetrics
    ) -> None:
        self.config = config
        self.store_factory = store_factory
        self.metrics = metrics
        self.journal = Journal(config.state)
        self.local = threading.local()
        self.containers: set[str] = set()
        self.meta_cache: sources.MetaCache = {}
        #: Per recording, (size, mtime) at the last look that found nothing to ship.
        self.unchanged: dict[str, tuple[int, float]] = {}
        #: Per recording, when its oldest audio not yet in the store was recorded.
        self.pending_since: dict[str, float | None] = {}
        #: Progress of every recording seen, ahead of the journal when the disk is full.
        self.progress: dict[str, Progress] = {}
        self.disk_write_failed = False
        self.copy = naming.copy_name(config.source, config.zone)
        #: StoreErrors of the current look; the store is down when every recording got one
        self.store_failures = 0
        self.failures_lock = threading.Lock()
        self.store_down = False
        #: a running edge call's tenant, asked of Kamailio (None: learnt at the call's end)
        self.edge_calls = EdgeCalls(config.edge_rpc) if config.edge_rpc else None

    # -- one look at the spool --------------------------------------------------------------
    def recordings(self) -> list[sources.Recording]:
        if self.config.source == "edge":
            return sources.edge_recordings(self.config.spool, self.meta_cache)
        return sources.pbx_recordings(self.config.spool, self.config.tenant or "")

    def tick(self, pool: ThreadPoolExecutor | None = None) -> None:
        recs = self.recordings()
        # the oldest unshipped audio first (recordings never looked at count as oldest)
        recs.sort(key=lambda r: self.pending_since.get(r.key) or 0.0)
        if self.store_down and recs:
            # the store refused every recording of the last look: one asks for all until it
            # answers (each refused upload costs a new connection and a new token)
            before = self.store_failures
            self.ship_safely(recs[0])
            if self.store_failures > before:
                self.update_health(recs)
                return
            self.store_down = False
            recs = recs[1:]
        self.store_failures = 0
        if pool is None:
            for rec in recs:
                self.ship_safely(rec)
        else:
            list(pool.map(self.ship_safely, recs))
        self.store_down = bool(recs) and self.store_failures >= len(recs)
        self.update_health(recs)

    def ship_safely(self, rec: sources.Recording) -> None:
        try:
            self.ship(rec)
        except StoreError as err:
            with self.failures_lock:
                self.store_failures += 1
            self.metrics.upload_failures.inc()
            # a new connection next time (a restarted proxy forgot our token)
            self.local.store = None
            log.warning("store: %s (kept on disk, retried)", err)
        except UnshippableError as err:
            log.error("%s: %s (kept on disk)", rec.path, err)
        except (ValueError, OSError) as err:  # e.g. a damaged file: the others go on
            log.error("%s: %s (kept on disk, retried)", rec.path, err)
        except Exception:  # one recording must never stop the shipping of the others
            log.exception("%s: unexpected error (kept on disk, retried)", rec.path)

    def store(self) -> Store:
        if getattr(self.local, "store", None) is None:
            self.local.store = self.store_factory()
        return self.local.store

    # -- one recording --------------------------------------------------------------------
    def progress_of(self, rec: sources.Recording) -> Progress:
        prog = self.progress.get(rec.key) or self.journal.load(rec.key)
        if prog is not None:
            self.progress[rec.key] = prog
            if not prog.tenant and rec.fields.get("tenant"):  # the call ended: now we know
                prog.tenant = rec.fields["tenant"]
                prog.caller, prog.called = rec.fields.get("caller"), rec.fields.get("called")
            return prog
        tenant = rec.fields.get("tenant") or self.config.tenant
        call_id = rec.fields.get("call_id")
        if not call_id:
            raise UnshippableError("no Call-ID; pass metadata=...|callid:<Call-ID> to rtpengine")
        prog = self.progress[rec.key] = Progress(
            key=rec.key, path=str(rec.path), tenant=tenant, call_id=call_id,
            date=naming.call_date(rec.mtime if rec.kind == "wav" else time.time()),
            container=naming.container_name(tenant) if tenant else naming.INFLIGHT_CONTAINER,
            caller=rec.fields.get("caller"), called=rec.fields.get("called"),
        )  # fmt: skip
        return prog

    def ship(self, rec: sources.Recording) -> None:
        if rec.kind == "pcap" and rec.meta_path is None and rec.size < pcap.GLOBAL_HEADER:
            return  # rtpengine creates the metadata first; a bare empty pcap is not a call yet
        if rec.kind == "pcap" and rec.meta_path is None:
            if time.time() - rec.mtime > self.config.idle_seconds:
                log.error(
                    "%s: pcap without metadata for %.0f s (kept)",
                    rec.path,
                    self.config.idle_seconds,
                )
            return
        try:  # the listing may be seconds old on a busy tick: judge idleness on fresh facts
            st = rec.path.stat()
        except FileNotFoundError:
            return
        rec.size, rec.mtime = st.st_size, st.st_mtime
        now = time.time()
        if (
            not rec.closed
            and self.unchanged.get(rec.key) == (rec.size, rec.mtime)
            and now - rec.mtime < self.config.chunk_seconds
        ):
            return  # nothing new, and not quiet long enough to close its tail
        prog = self.progress_of(rec)
        if prog.done:
            self.clean_up(rec, prog)
            return
        if self.edge_calls is not None and not prog.tenant and not rec.closed:
            self.learn_tenant(prog)
        orphan = not rec.closed and time.time() - rec.mtime > self.config.idle_seconds
        finished = rec.closed or orphan
        with open(rec.path, "rb") as f:
            header = f.read(512)
            f.seek(prog.offset)
            body = f.read(max(rec.size - prog.offset, 0))
        base = prog.offset
        # one pass over the unshipped bytes: the closed chunks, shipped in order, a few per look
        chunks = self.closed_chunks(rec, header, body, base, finished)
        for start, end, times in chunks[:CHUNKS_PER_LOOK]:
            container = self.container(prog.container)
            self.ship_chunk(rec, prog, container, header, body[start - base : end - base], times)
        self.pending_since[rec.key] = self.oldest_pending(rec, header, body, base, prog.offset)
        if len(chunks) > CHUNKS_PER_LOOK:
            return  # the others' turn: the rest of this one at the next look
        container = self.container(prog.container)
        self.unchanged[rec.key] = (rec.size, rec.mtime)
        if finished:  # every whole packet/sample is in the store now
            if orphan:
                sources.finalise_orphan_metadata(rec)
                log.warning("%s: orphan (recorder gone), finalised", rec.path)
            self.finalise(rec, prog, container)

    def closed_chunks(
        self, rec: sources.Recording, header: bytes, body: bytes, base: int, finished: bool
    ) -> list[tuple[int, int, tuple[float, float] | None]]:
        """(start, end, first and last packet times for a pcap) of each closed chunk."""
        seconds = self.config.chunk_seconds
        now = time.time()
        if rec.kind == "pcap":
            spans = pcap.spans(header[: pcap.GLOBAL_HEADER], body, base)
            chunks, start, i = [], base, 0
            for end in chunking.pcap_chunk_ends(spans, seconds, finished, now):
                first = spans[i]
                while i < len(spans) and spans[i].end <= end:
                    i += 1
                chunks.append((start, end, (first.time, spans[i - 1].time)))
                start = end
            return chunks
        try:
            data_offset = chunking.wav_data_offset(header)
        except (ValueError, IndexError):
            return []  # MixMonitor has not written its header yet
        channels = int.from_bytes(header[22:24], "little") or 1
        quiet = now - rec.mtime >= seconds
        wav_chunks: list[tuple[int, int, tuple[float, float] | None]] = []
        start = base
        while (
            end := chunking.wav_chunk_end(
                rec.size, start, data_offset, 2 * channels, seconds, finished, quiet
            )
        ) is not None and end > start:
            wav_chunks.append((start, end, None))
            start = end
        return wav_chunks

    def oldest_pending(
        self, rec: sources.Recording, header: bytes, body: bytes, base: int, offset: int
    ) -> float | None:
        """When the oldest audio not yet in the store was recorded (None: all of it is)."""
        if rec.kind == "pcap":
            head = body[offset - base : offset - base + 4096]  # one record is far shorter
            first = pcap.spans(header[: pcap.GLOBAL_HEADER], head, offset)[:1]
            return first[0].time if first else None
        return chunking.pending_since("wav", header, b"", offset, rec.size, rec.mtime)

    def ship_chunk(
        self,
        rec: sources.Recording,
        prog: Progress,
        container: str,
        header: bytes,
        data: bytes,
        times: tuple[float, float] | None = None,
    ) -> None:
        if rec.kind == "pcap":
            if times is not None:
                prog.first_time = prog.first_time or times[0]
                if prog.seq == 0:
                    prog.date = naming.call_date(times[0])
                prog.last_time = times[1]
        elif prog.first_time is None:  # the file grows in real time: its start is that far back
            channels = int.from_bytes(header[22:24], "little") or 1
            rate = 2 * channels * chunking.WAV_SAMPLE_RATE
            prog.first_time = rec.mtime - max(rec.size - 44, 0) / rate
            prog.date = naming.call_date(prog.first_time)
        name = naming.chunk_name(prog.date, prog.call_id, self.copy, prog.seq)
        self.store().put(container, name, data, naming.delete_after(self.config.retention_days))
        prog.offset += len(data)
        prog.seq += 1
        prog.shipped_at = time.time()
        self.metrics.chunks_shipped.inc()
        self.save(prog)

    def learn_tenant(self, prog: Progress) -> None:
        """A running call whose tenant the edge now knows: its chunks go to the tenant's
        container from here on, and those shipped to the in-flight one so far (the seconds
        before the answer) are copied there first, then removed from in-flight."""
        assert self.edge_calls is not None
        found = self.edge_calls.lookup(prog.call_id)
        if found is None:
            return
        tenant, caller = found
        target = self.container(naming.container_name(tenant))
        moved = []
        if prog.seq and prog.container != target:
            keep = naming.delete_after(self.config.retention_days)
            moved = [
                naming.chunk_name(prog.date, prog.call_id, self.copy, n) for n in range(prog.seq)
            ]
            with ThreadPoolExecutor(COPY_THREADS) as pool:
                list(pool.map(lambda n: self.store().copy(prog.container, n, target, keep), moved))
        inflight = prog.container
        prog.tenant, prog.container = tenant, target
        prog.caller = prog.caller or caller
        self.save(prog)
        if moved:
            self.store().delete_many(inflight, moved)

    def finalise(self, rec: sources.Recording, prog: Progress, chunks_in: str) -> None:
        """Writes the WAV and index entries into the tenant's container (chunks shipped while
        the tenant was unknown are copied there first). An orphan whose tenant never became
        known (rtpengine killed before writing it) stays in the in-flight container."""
        keep = naming.delete_after(self.config.retention_days)
        store = self.store()
        container = naming.container_name(prog.tenant) if prog.tenant else chunks_in
        if container != chunks_in:
            self.container(container)
            names = [
                naming.chunk_name(prog.date, prog.call_id, self.copy, n) for n in range(prog.seq)
            ]
            # server-side requests, a few at once (each thread has its own connection)
            with ThreadPoolExecutor(COPY_THREADS) as pool:
                list(pool.map(lambda n: self.store().copy(chunks_in, n, container, keep), names))
                prog.container = container
                self.save(prog)
            store.delete_many(chunks_in, names)
        data = rec.path.read_bytes()
        if rec.kind == "pcap":
            audio = wav.pcap_to_wav(data, rec.caller_port)
            start, end = prog.first_time or rec.mtime, prog.last_time or rec.mtime
        else:
            audio = wav.pbx_wav(data)
            seconds = (len(audio) - 44) / (2 * chunking.WAV_SAMPLE_RATE)
            start = prog.first_time or rec.mtime
            end = max(rec.mtime, start + seconds)
        wav_name = naming.wav_name(prog.date, prog.call_id, self.copy)
        store.put(container, wav_name, audio, keep, content_type="audio/wav")
        entry = IndexEntry(
            tenant=prog.tenant or "", call_id=prog.call_id, caller=prog.caller, called=prog.called,
            start=_iso(start), end=_iso(end), copy=self.copy, zone=self.config.zone,
            chunks=prog.seq, wav=wav_name, seconds=round(end - start, 3),
            copies=[self.copy], zones=[self.config.zone],
        )  # fmt: skip
        for name in naming.index_names(prog.date, prog.call_id, prog.caller, self.copy):
            store.put(container, name, entry.to_json(), keep, content_type="application/json")
        prog.done = True
        prog.finalised_size = rec.size
        self.save(prog)
        self.metrics.recordings_finalised.inc()
        self.clean_up(rec, prog)

    def clean_up(self, rec: sources.Recording, prog: Progress) -> None:
        """Everything is in the store: the local files and the journal entry may go."""
        rec.path.unlink(missing_ok=True)
        if rec.meta_path is not None:
            rec.meta_path.unlink(missing_ok=True)
        self.journal.forget(prog.key)
        if self.edge_calls is not None:
            self.edge_calls.forget(prog.call_id)
        self.progress.pop(prog.key, None)
        self.pending_since.pop(rec.key, None)
        self.unchanged.pop(rec.key, None)

    def container(self, name: str) -> str:
        if name not in self.containers:
            self.store().ensure_container(name=name)
            self.containers.add(name)
        return name

    def save(self, prog: Progress) -> None:
        """Journals ``prog``; on a full disk the shipper goes on from memory (shipping and
        then removing finished recordings is what frees the disk) and raises its alarm."""
        try:
            self.journal.save(prog)
        except OSError as err:
            self.disk_write_failed = True
            self.metrics.disk_write_failures.inc()
            log.error("journal %s: %s (going on from memory)", prog.key, err)
            return
        self.disk_write_failed = False

    # -- health ---------------------------------------------------------------------------
    def update_health(self, recs: list[sources.Recording]) -> alerts.Health:
        now = time.time()
        backlog = 0
        oldest = 0.0
        for rec in recs:
            prog = self.progress.get(rec.key)
            backlog += max(rec.size - (prog.offset if prog else 0), 0)
            since = self.pending_since.get(rec.key)
            if since is None and prog is None:
                since = rec.mtime  # never looked at yet (e.g. no metadata)
            if since is not None:
                oldest = max(oldest, now - since)
        try:
            st = os.statvfs(self.config.spool)
            free = st.f_bavail / st.f_blocks if st.f_blocks else 1.0
        except OSError:
            free = 0.0
        health = alerts.Health(oldest, backlog, free, self.disk_write_failed)
        self.metrics.publish(health)
        return health


def main(env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        config = from_env(env)
        Store.from_env(env)
    except (ConfigError, StoreConfigError) as err:
        print(f"samu-recordings-shipper: {err}", file=sys.stderr)
        return 2
    metrics = ShipperMetrics(config.source, config.zone)
    metrics.serve(config.metrics_port)
    shipper = Shipper(config, lambda: Store.from_env(env), metrics)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    log.info("shipping %s recordings from %s as %s", config.source, config.spool, shipper.copy)
    with ThreadPoolExecutor(config.workers) as pool:
        while not stop.is_set():
            shipper.tick(pool)
            stop.wait(config.poll_seconds)
        shipper.tick(pool)  # a last look: what closed meanwhile goes before the exit
    return 0


if __name__ == "__main__":
    sys.exit(main())
