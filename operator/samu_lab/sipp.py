"""SIPp on 127.0.0.1: PBX stand-ins (servers answering probes and calls, naming themselves in
X-Pbx) and 15 callers placing calls through the edge."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from samu_lab.kamailio import Kamailio
from samu_lab.paths import scenario as scenario_path
from samu_lab.procs import HOST, free_port, free_port_range, kill_process, stop_process


@dataclass
class Pbx:
    """A PBX stand-in: SIPp server answering probes and calls, naming itself in X-Pbx."""

    name: str
    workdir: Path
    #: a file name of samu_lab/scenarios (or of a registered directory), or an absolute path
    scenario: str = "pbx.xml"
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    #: more SIPp options (a media port, -rtp_echo)
    args: list[str] = field(default_factory=list)

    @property
    def uri(self) -> str:
        return f"sip:{HOST}:{self.port}"

    def start(self) -> Pbx:
        cmd = ["sipp", "-sf", str(scenario_path(self.scenario)), "-i", HOST, "-p", str(self.port)]
        cmd += ["-key", "pbx", self.name, "-nostdin", "-max_recv_loops", "5000"]
        # A real PBX takes a new INVITE of a Call-ID it refused (the edge's débordement back
        # to a saturated PBX); SIPp would absorb it as its "dead call" for 33 s.
        cmd += ["-deadcall_wait", "0", *self.args]
        self.proc = subprocess.Popen(
            cmd, cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        return self

    def freeze(self) -> float:
        """The zone is gone: the process keeps its socket but answers nothing (a black hole,
        like a lost zone, not a refused port). Returns the wall-clock moment."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)
        return time.time()

    def thaw(self) -> None:
        """The zone is back."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL: the PBX dies mid-call without a word."""
        kill_process(self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)


@dataclass(frozen=True)
class Call:
    call_id: str
    start: float
    answer: float
    pbx: str
    #: "ok"; "dropped": answered, then its PBX died and the caller's BYE got no answer;
    #: "ended": answered, then its PBX died and the edge ended the call (BYE to the caller)
    result: str

    @property
    def setup_seconds(self) -> float:
        return self.answer - self.start


@dataclass
class CallerRun:
    """One SIPp client run: how many calls it placed and what became of each."""

    planned: int
    calls: list[Call]
    returncode: int
    log: str

    @property
    def answered(self) -> int:
        return len(self.calls)

    @property
    def failed_setups(self) -> int:
        """Calls that never got a 200 OK (the number the edge must keep at zero)."""
        return self.planned - self.answered

    @property
    def dropped(self) -> list[Call]:
        """Answered calls lost with their PBX (either way)."""
        return [c for c in self.calls if c.result in ("dropped", "ended")]

    def by_pbx(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for call in self.calls:
            counts[call.pbx] = counts.get(call.pbx, 0) + 1
        return counts


def parse_calls(path: Path) -> list[Call]:
    calls: list[Call] = []
    if not path.exists():
        return calls
    for line in path.read_text(errors="replace").splitlines():
        parts = line.split()
        if len(parts) == 8 and parts[0] == "CALL":
            start = float(parts[2]) + float(parts[3]) / 1e6
            answer = float(parts[4]) + float(parts[5]) / 1e6
            calls.append(Call(parts[1], start, answer, parts[6], parts[7]))
    return calls


@dataclass
class Caller:
    """SIPp client placing 15 calls through the edge (scenario honours Record-Route)."""

    edge: Kamailio
    workdir: Path
    number: str = "15"
    department: str = ""
    caller_prefix: str = "0466"
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    name: str = "caller"
    #: the scenario: caller.xml (signalling only) or drill_caller.xml (with `audio`)
    scenario: str = "caller.xml"
    #: a pcap of RTP the callers play from the ACK (samu_lab.markers.write_marker_pcap)
    audio: Path | None = None
    media_port: int = 0
    #: SIPp's -timeout: the whole run stops after this many seconds
    run_timeout: int = 60

    def start(self, rate: int, calls: int, hold_ms: int = 1000, limit: int = 2000) -> Caller:
        self._planned = calls
        self._log = self.workdir / f"{self.name}-{self.port}.log"
        stem = Path(self.scenario).stem
        scenario = self.workdir / f"{stem}-{self.name}-{hold_ms}ms.xml"
        text = scenario_path(self.scenario).read_text()
        text = text.replace('timeout="HOLD_MS"', f'timeout="{hold_ms}"')
        scenario.write_text(text.replace("PCAP_FILE", str(self.audio or "")))
        cmd = ["sipp", f"{HOST}:{self.edge.sip_port}", "-sf", str(scenario)]
        cmd += ["-i", HOST, "-p", str(self.port), "-s", self.number, "-nostdin"]
        if self.audio is not None:
            self.media_port = self.media_port or free_port_range(4)
            cmd += ["-mi", HOST, "-mp", str(self.media_port)]
        cmd += ["-key", "dep", self.department or "-", "-key", "caller", self.caller_prefix]
        cmd += ["-r", str(rate), "-m", str(calls), "-l", str(limit)]
        cmd += ["-trace_logs", "-log_file", str(self._log), "-timeout", str(self.run_timeout)]
        cmd += ["-recv_timeout", "8000", "-max_recv_loops", "5000"]
        self.proc = subprocess.Popen(
            cmd,
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=(self.workdir / f"{self.name}-{self.port}.err").open("wb"),
        )
        return self

    def wait(self, timeout: float = 60.0) -> CallerRun:
        assert self.proc is not None
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            stop_process(self.proc)
            rc = -1
        return CallerRun(self._planned, parse_calls(self._log), rc, str(self._log))

    def run(self, rate: int, calls: int, hold_ms: int = 200) -> CallerRun:
        return self.start(rate, calls, hold_ms).wait()

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)


@contextlib.contextmanager
def started(*things: Kamailio | Pbx) -> Iterator[None]:
    try:
        yield
    finally:
        for thing in reversed(things):
            thing.stop()
