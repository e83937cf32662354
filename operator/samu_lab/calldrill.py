"""The call drill (``samuctl drill --calls N --kill PART``): real calls through the edge on
127.0.0.1, one part killed mid-call, and every recording read back from the store.

The lab: a loopback Swift (three object servers, two replicas), two PBX stand-ins of SAMU 30
(zones a and b of its PBX set) that record their copy as MixMonitor does, the edge (Kamailio
with the chart's configuration, rtpengine recording every call), one shipper for the edge's
spool and one per PBX (the PBX pod's sidecar), and SIPp callers sending G.711 audio whose
second k is a tone of 300 + 100k Hz. Once the calls are over and the shippers have drained,
each answered call's copies are fetched from the store (the WAV written at the call's end, or
one assembled from its chunks) and the marker seconds heard in them are compared with the
seconds the platform carried (``callscore``).
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
import shutil
import tempfile
import threading
import time
import wave
from array import array
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from samu_lab import callscore
from samu_lab.callscore import CallDrillReport, PlacedCall, StoredCopy
from samu_lab.edge import EdgeLab
from samu_lab.markers import MARKERS, write_marker_pcap
from samu_lab.pbx import RecordingPbx
from samu_lab.procs import LabError, missing_binaries
from samu_lab.rtpengine import Rtpengine
from samu_lab.shipper import ShipperProcess, shipper_env
from samu_lab.sipp import Caller
from samu_lab.tones import heard_seconds

TENANT_DEPARTMENT = "30"
TENANT = f"samu-{TENANT_DEPARTMENT}"
MAX_CALLS = 400
#: A shipper finalises a recording that stopped growing this long ago and that its recorder
#: never closed (a killed PBX or rtpengine); production waits 90 s (longer than a hold).
ORPHAN_SECONDS = 5


def check(calls: int, kill: str, hold_seconds: int, rate: int) -> None:
    """Refuses a drill the lab cannot run, naming the option and the fix."""
    if not 1 <= calls <= MAX_CALLS:
        raise ValueError(f"--calls {calls}: give 1 to {MAX_CALLS} (the lab runs on this machine)")
    if kill not in callscore.KILLS:
        raise ValueError(f"--kill {kill}: one of {', '.join(callscore.KILLS)}")
    if not 4 <= hold_seconds < MARKERS:
        raise ValueError(
            f"--hold {hold_seconds}: give 4 to {MARKERS - 1} seconds (one marker tone a second)"
        )
    if rate < 0:
        raise ValueError(f"--rate {rate}: calls per second, 0 for the default")
    missing = missing_binaries()
    if missing:
        raise LabError(
            f"{', '.join(missing)} not installed: `make debs` installs kamailio, sip-tester and "
            "rtpengine-daemon"
        )
    if importlib.util.find_spec("swift") is None:  # the store the drill runs
        raise LabError("OpenStack Swift is not installed: pip install 'samu-platform[lab]'")


def drill_tenant() -> dict[str, Any]:
    """SAMU 30 as `samuctl tenant init 30` writes it, with its first PBX zone active."""
    from samu_operator.model.explain import scaffold

    doc = yaml.safe_load(scaffold(TENANT_DEPARTMENT))
    zones = doc["spec"]["pbx"]["zones"][:2]
    doc["spec"]["pbx"]["zones"] = zones
    doc["spec"]["failover"]["preferredZones"] = zones
    doc["spec"].pop("overflow", None)
    doc["status"] = {
        "phase": "Ready",
        "activeZone": zones[0],
        "epoch": 1,
        "pbx": [
            {"zone": z, "role": "active" if i == 0 else "standby", "ready": True}
            for i, z in enumerate(zones)
        ],
    }
    return doc


@dataclass
class Lab:
    """Every part of the drill, started in order and stopped in reverse."""

    root: Path
    calls: int
    stack: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    pbx: dict[str, RecordingPbx] = field(default_factory=dict)
    pbx_shippers: dict[str, ShipperProcess] = field(default_factory=dict)
    edge_shipper: ShipperProcess | None = None
    oldest_unshipped: float = 0.0
    _sampling: threading.Event = field(default_factory=threading.Event)

    def start(self, progress: Callable[[str], None]) -> None:
        from samu_lab.swift import SwiftLab

        progress("starting the store (Swift on 127.0.0.1)")
        self.swift = SwiftLab(self.root / "swift", object_servers=3)
        self.stack.callback(self.swift.stop)
        self.swift.start()
        tenant = drill_tenant()
        self.zones = tenant["spec"]["pbx"]["zones"]
        progress("starting the PBX stand-ins and the edge (Kamailio + rtpengine)")
        self.edge = EdgeLab(self.root / "edge")
        self.edge.rtpengine = Rtpengine(
            self.root / "edge" / "rtpengine", ports=max(400, 8 * self.calls)
        )
        self.stack.callback(self.edge.stop)
        for n, zone in enumerate(self.zones):
            # each PBX on its own loopback address, as each has its own in production
            host = f"127.0.0.{2 + n}"
            pbx = RecordingPbx(f"{TENANT}-{zone}", self.root / f"pbx-{zone}", host=host).start()
            self.stack.callback(pbx.stop)
            self.pbx[zone] = pbx
            self.edge.addresses[f"{TENANT}/{zone}"] = pbx.uri
        self.edge.start([tenant])
        progress("starting the shippers (edge, and one per PBX)")
        self.edge_shipper = self.start_edge_shipper()
        for zone, pbx in self.pbx.items():
            env = self.shipper_env("pbx", zone, pbx.recordings, SAMU_SHIPPER_TENANT=TENANT)
            shipper = ShipperProcess(env, self.root / f"shipper-pbx-{zone}.log").start()
            self.stack.callback(shipper.stop)
            self.pbx_shippers[zone] = shipper
        threading.Thread(target=self.sample, daemon=True).start()
        self.stack.callback(self._sampling.set)

    def shipper_env(self, source: str, zone: str, spool: Path, **extra: str) -> dict[str, str]:
        return shipper_env(
            self.swift, self.root / f"shipper-{source}-{zone}", source,
            SAMU_SHIPPER_SPOOL=str(spool), SAMU_SHIPPER_ZONE=zone,
            SAMU_SHIPPER_IDLE_SECONDS=str(ORPHAN_SECONDS), **extra,
        )  # fmt: skip

    def start_edge_shipper(self) -> ShipperProcess:
        env = self.shipper_env(
            "edge", self.zones[0], self.edge.rtpengine.spool,
            SAMU_SHIPPER_EDGE_RPC=self.edge.edge.rpc.url,
        )  # fmt: skip
        shipper = ShipperProcess(env, self.root / "shipper-edge.log").start()
        self.stack.callback(shipper.stop)
        return shipper

    def shippers(self) -> list[ShipperProcess]:
        return [s for s in (self.edge_shipper, *self.pbx_shippers.values()) if s is not None]

    def sample(self) -> None:
        """The shippers' own gauge of the oldest audio not yet in the store, once a second."""
        while not self._sampling.wait(1.0):
            for shipper in self.shippers():
                with contextlib.suppress(OSError, KeyError, ValueError):
                    age = shipper.metrics()["samu_recordings_oldest_unshipped_seconds"]
                    self.oldest_unshipped = max(self.oldest_unshipped, age)

    def on_disk(self) -> int:
        """Recordings the shippers have not finished with yet."""
        spools = [p.recordings for p in self.pbx.values()]
        pcaps = self.edge.rtpengine.spool / "pcaps"
        count = sum(len(list(d.glob("*.wav"))) for d in spools if d.is_dir())
        return count + (len(list(pcaps.glob("*.pcap"))) if pcaps.is_dir() else 0)

    # -- the kills --------------------------------------------------------------------------
    def kill(self, part: str) -> str:
        if part == "pbx":
            self.pbx[self.zones[0]].kill()
            return f"active PBX {TENANT}-{self.zones[0]}"
        if part == "edge":
            # the edge pod: Kamailio, rtpengine and the shipper die together and the pod's
            # emptyDir spool goes with them (what was not shipped yet is gone)
            self.edge.rtpengine.kill()
            self.edge.edge.kill()
            if self.edge_shipper is not None:
                self.edge_shipper.kill()
                self.edge_shipper = None
            shutil.rmtree(self.edge.rtpengine.spool, ignore_errors=True)
            return "edge pod (Kamailio, rtpengine, shipper, spool)"
        if part == "shipper":
            assert self.edge_shipper is not None
            self.edge_shipper.kill()
            threading.Timer(2.0, self._restart_edge_shipper).start()
            return "edge shipper (restarted 2 s later)"
        if part == "store-node":
            self.swift.stop_server("object0")
            return "Swift object server object0"
        return ""

    def _restart_edge_shipper(self) -> None:
        self.edge_shipper = self.start_edge_shipper()


def run_call_drill(
    calls: int,
    kill: str = "none",
    hold_seconds: int = 10,
    rate: int = 0,
    progress: Callable[[str], None] = lambda _: None,
    keep: Path | None = None,
) -> CallDrillReport:
    check(calls, kill, hold_seconds, rate)
    rate = rate or min(calls, 40)
    root = Path(tempfile.mkdtemp(prefix="samu-call-drill-", dir=keep))
    lab = Lab(root, calls)
    try:
        with lab.stack:
            lab.start(progress)
            return _drill(lab, calls, kill, hold_seconds, rate, progress)
    finally:
        if keep is None:
            shutil.rmtree(root, ignore_errors=True)


def _drill(
    lab: Lab, calls: int, kill: str, hold: int, rate: int, progress: Callable[[str], None]
) -> CallDrillReport:
    audio = write_marker_pcap(lab.root / "markers.pcap", hold)
    ramp = calls / rate
    caller = Caller(
        lab.edge.edge, lab.root, department=TENANT_DEPARTMENT, scenario="drill_caller.xml",
        audio=audio, run_timeout=int(ramp + hold + 120),
    )  # fmt: skip
    lab.stack.callback(caller.stop)
    # a PBX dies while half the calls are up (the rest must find the standby); the others
    # once every call is up and talking
    kill_at = ramp / 2 + 0.5 if kill == "pbx" else ramp + min(3.0, hold / 3)
    started = time.time()
    caller.start(rate=rate, calls=calls, hold_ms=hold * 1000 + 500, limit=calls)
    killed, killed_after, media_died = "", None, None
    while caller.proc is not None and caller.proc.poll() is None:
        elapsed = time.time() - started
        if kill != "none" and killed_after is None and elapsed >= kill_at:
            killed = lab.kill(kill)
            killed_after = elapsed
            media_died = time.time() if kill == "edge" else None
        placed = min(calls, int(elapsed * rate))
        state = f", {killed} killed" if killed else ""
        progress(f"calls: {placed}/{calls} placed, {hold} s each{state}")
        time.sleep(0.25)
    run = caller.wait(timeout=10)
    ended = time.time()
    placed_calls = _placed(Path(run.log), calls)
    progress("calls over; waiting for the shippers to drain")
    deadline = ended + max(120.0, calls * 1.0)
    while time.time() < deadline and lab.on_disk():
        progress(f"shipping: {lab.on_disk()} recordings still on disk")
        time.sleep(0.5)
    drained = time.time() - ended
    copies = _read_back(lab, [c for c in placed_calls if c.answered_at is not None], progress)
    verdicts, shipped = [], {}
    for call in placed_calls:
        if call.answered_at is None:
            continue
        stored = copies.get(call.call_id, [])
        for copy in stored:
            key = copy.copy.split("-")[0] + ("" if copy.source == "wav" else "FromChunks")
            shipped[key] = shipped.get(key, 0) + 1
        carried = callscore.carried_seconds(call, hold, media_died)
        verdicts.append(callscore.judge(call, carried, stored))
    return CallDrillReport(
        calls=calls, kill=kill, killed=killed, killed_after_seconds=killed_after,
        hold_seconds=hold, placed=placed_calls, verdicts=verdicts, drained_seconds=drained,
        shipped=shipped, max_oldest_unshipped_seconds=lab.oldest_unshipped,
    )  # fmt: skip


def _placed(log: Path, planned: int) -> list[PlacedCall]:
    """The calls as the callers saw them (drill_caller.xml's log lines)."""
    text = log.read_text(errors="replace") if log.exists() else ""
    results = dict(re.findall(r"^CALL (\S+) (?:\S+ ){5}(\w+)$", text, re.M))
    ended = {
        cid: int(s) + int(u) / 1e6
        for cid, s, u in re.findall(r"^ENDED (\S+) (\S+) (\S+)$", text, re.M)
    }
    out = [
        # no CALL line: the call never finished (its BYE unanswered until SIPp gave up)
        PlacedCall(cid, float(s) + float(u) / 1e6, results.get(cid, "dropped"), pbx, ended.get(cid))
        for cid, s, u, pbx in re.findall(r"^ANSWERED (\S+) (\S+) (\S+) (\S*)$", text, re.M)
    ]
    out += [PlacedCall(f"unanswered-{n}", None, "failed") for n in range(planned - len(out))]
    return out


def _read_back(
    lab: Lab, calls: list[PlacedCall], progress: Callable[[str], None]
) -> dict[str, list[StoredCopy]]:
    """Each call's copies as the store holds them (``samuctl recordings get``'s lookup)."""
    from samu_recordings import finder
    from samu_recordings.store import Store

    local = threading.local()
    done = [0]

    def copies_of(call: PlacedCall) -> tuple[str, list[StoredCopy]]:
        if getattr(local, "store", None) is None:
            local.store = Store.from_env(lab.swift.env)
        found = []
        for source in ("edge", "pbx"):
            try:
                got = finder.get(local.store, TENANT, call.call_id, copy=source)
            except finder.NotFoundError:
                continue
            found.append(StoredCopy(got.copy, got.source, frozenset(_heard(got.wav))))
        done[0] += 1
        progress(f"reading back from the store: {done[0]}/{len(calls)} calls")
        return call.call_id, found

    with ThreadPoolExecutor(4) as pool:
        return dict(pool.map(copies_of, calls))


def _heard(data: bytes) -> set[int]:
    """The marker seconds of a WAV's first channel (the caller's, in the edge's copy)."""
    with wave.open(io.BytesIO(data)) as w:
        channels = w.getnchannels()
        frames = array("h", w.readframes(w.getnframes()))
    return heard_seconds(frames[0::channels] if channels > 1 else frames)
