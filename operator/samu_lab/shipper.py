"""Runs the shipper in the lab: in a thread of the caller (to read its health) or as its own
process (to SIGKILL it), and reads back what the store holds."""

from __future__ import annotations

import io
import logging
import os
import signal
import subprocess
import sys
import threading
import time
import wave
from array import array
from collections.abc import Callable
from pathlib import Path

from samu_lab.swift import SwiftLab
from samu_recordings.core import naming, pcap
from samu_recordings.core.alerts import Health
from samu_recordings.core.config import from_env
from samu_recordings.metrics import ShipperMetrics
from samu_recordings.shipper import Shipper
from samu_recordings.store import Store, StoreError

log = logging.getLogger(__name__)


def shipper_env(lab: SwiftLab, root: Path, source: str = "edge", **extra: str) -> dict[str, str]:
    env = {
        **lab.env,
        "SAMU_SHIPPER_SOURCE": source,
        "SAMU_SHIPPER_SPOOL": str(root / "spool"),
        "SAMU_SHIPPER_STATE": str(root / "state"),
        "SAMU_SHIPPER_ZONE": "fr-par-1a",
        "SAMU_SHIPPER_IDLE_SECONDS": "3",
        "SAMU_SHIPPER_POLL_SECONDS": "0.2",
        "SAMU_SHIPPER_RETENTION_DAYS": "365",
    }
    if source == "pbx":
        env["SAMU_SHIPPER_TENANT"] = "samu-30"
    env.update(extra)
    return env


class ShipperThread:
    """The real Shipper, ticking in a thread; ``healths`` keeps what each tick measured."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.shipper = Shipper(from_env(env), lambda: Store.from_env(env), ShipperMetrics("t", "t"))
        self.healths: list[Health] = []
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop_event.is_set():
            try:
                self.shipper.tick()
                if self.shipper.metrics.last_health:
                    self.healths.append(self.shipper.metrics.last_health)
            except Exception:  # a test must see it, not a dead thread
                log.exception("shipper tick")
                raise
            self.stop_event.wait(float(self.env["SAMU_SHIPPER_POLL_SECONDS"]))

    def __enter__(self) -> ShipperThread:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop_event.set()
        self.thread.join(timeout=60)


class ShipperProcess:
    """``python -m samu_recordings.shipper`` as its own process (tracked by PID)."""

    def __init__(self, env: dict[str, str], log_path: Path, profile: Path | None = None) -> None:
        self.env, self.log_path = env, log_path
        self.proc: subprocess.Popen | None = None
        self.metrics_port = _free_port()
        #: where cProfile writes the shipper's profile when it exits on SIGTERM (benchmarks)
        self.profile = profile

    def start(self) -> ShipperProcess:
        profiling = ["-m", "cProfile", "-o", str(self.profile)] if self.profile else []
        with open(self.log_path, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, *profiling, "-m", "samu_recordings.shipper"],
                env={**os.environ, **self.env, "SAMU_SHIPPER_METRICS_PORT": str(self.metrics_port)},
                stdout=out, stderr=subprocess.STDOUT, cwd=str(self.log_path.parent),
            )  # fmt: skip
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def metrics(self) -> dict[str, float]:
        """The shipper's Prometheus text, as sample name -> value (labels dropped)."""
        from urllib.request import urlopen

        from prometheus_client.parser import text_string_to_metric_families

        text = urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).read().decode()
        return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples}

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def _free_port() -> int:
    from samu_lab.swift import free_port

    return free_port()


def wait_for(what: str, check: Callable[[], object], timeout: float = 60) -> object:
    """Polls ``check`` until it returns something truthy (generous bound: the machine is shared)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = check()
        except StoreError:
            value = None
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def objects(lab: SwiftLab, container: str, prefix: str = "") -> list[str]:
    store = Store.from_env(lab.env)
    try:
        return store.list(container, prefix)
    except StoreError:
        return []


def read_wav(data: bytes) -> tuple[int, array]:
    with wave.open(io.BytesIO(data)) as w:
        return w.getnchannels(), array("h", w.readframes(w.getnframes()))


def chunks_of(lab: SwiftLab, container: str, date: str, call_id: str, copy: str) -> list[bytes]:
    store = Store.from_env(lab.env)
    prefix = f"{naming.call_prefix(date, call_id)}{copy}/chunk-"
    return [store.get(container, name) for name in store.list(container, prefix)]


def rtp_sequences(data: bytes) -> dict[int, list[int]]:
    """RTP sequence numbers per SSRC in a pcap, in file order."""
    out: dict[int, list[int]] = {}
    for rec in pcap.records(data[: pcap.GLOBAL_HEADER], data):
        out.setdefault(rec.ssrc, []).append(rec.sequence)
    return out
