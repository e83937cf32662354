"""Real Kamailio and SIPp processes on 127.0.0.1 for the edge tests and benchmark.

Every process gets its own ports (asked from the kernel), its own files under the test's
directory, and is stopped by the object that started it (by its own pid).
"""

import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samu_operator.edge.files import EdgeFiles
from samu_operator.edge.rpc import KamailioRpc, RpcError

REPO = Path(__file__).resolve().parents[2]
EDGE_CFG = REPO / "helm" / "samu-edge" / "files" / "kamailio.cfg"
SCENARIOS = Path(__file__).resolve().parent / "scenarios"
HOST = "127.0.0.1"


def missing_binaries() -> list[str]:
    return [b for b in ("kamailio", "sipp", "rtpengine") if shutil.which(b) is None]


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1 (SIP listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((HOST, 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((HOST, port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port on 127.0.0.1")


def wait_for(predicate: "callable[[], bool]", timeout: float, what: str) -> None:  # type: ignore[valid-type]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def _stop(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGCONT)
        proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)


@dataclass
class Kamailio:
    """The edge config of the chart, run on 127.0.0.1 with the test's ports and files."""

    workdir: Path
    cfg: Path = EDGE_CFG
    defines: dict[str, str] = field(default_factory=dict)
    children: int = 4
    shm_mb: int = 512
    sip_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    #: the key signing the edge's Record-Route (the chart's Secret), new for every edge
    rr_key: str = field(default_factory=lambda: secrets.token_hex(32))

    @property
    def files(self) -> EdgeFiles:
        return EdgeFiles(self.workdir / "tables")

    @property
    def rpc(self) -> KamailioRpc:
        return KamailioRpc(f"http://{HOST}:{self.http_port}/RPC", timeout=5.0)

    @property
    def metrics_url(self) -> str:
        return f"http://{HOST}:{self.http_port}/metrics"

    @property
    def log(self) -> Path:
        return self.workdir / "kamailio.log"

    def command(self) -> list[str]:
        run = self.workdir / "run"
        params = {
            "EDGE_SIP_LISTEN": f"udp:{HOST}:{self.sip_port}",
            "EDGE_SIP_LISTEN_TCP": f"tcp:{HOST}:{self.sip_port}",
            "EDGE_HTTP_LISTEN": f"tcp:{HOST}:{self.http_port}",
            "EDGE_HTTP_PORT": str(self.http_port),
            "EDGE_DISPATCHER_LIST": f'"{self.files.dispatcher}"',
            "EDGE_ROUTING_DB": f'"text://{self.files.directory}"',
            "EDGE_CTL_SOCKET": f'"unix:{run / "ctl.sock"}"',
            "EDGE_RUNDIR": f'"{run}"',
            "EDGE_CHILDREN": str(self.children),
            **self.defines,
        }
        # -x/-X tlsf: the memory managers the chart runs Kamailio with (see its _helpers.tpl)
        cmd = ["kamailio", "-f", str(self.cfg), "-DD", "-E", "-x", "tlsf", "-X", "tlsf"]
        # one JSON record a line, as the chart runs it (see log_records)
        cmd += ["--log-engine=json:M"]
        cmd += ["-m", str(self.shm_mb), "-M", "16"]
        cmd += ["-P", str(run / "kamailio.pid")]
        for name, value in params.items():
            cmd += ["-A", f"{name}={value}" if value else name]
        return cmd

    def start(self, timeout: float = 20.0) -> "Kamailio":
        (self.workdir / "run").mkdir(parents=True, exist_ok=True)
        self.files.directory.mkdir(parents=True, exist_ok=True)
        for path in (self.files.dispatcher, self.files.routing):
            if not path.exists():
                raise FileNotFoundError(f"write {path} before starting Kamailio")
        seed_positions_tables(self.files)
        with self.log.open("wb") as log:
            env = {**os.environ, "SAMU_EDGE_RR_KEY": self.rr_key}
            self.proc = subprocess.Popen(
                self.command(), stdout=log, stderr=subprocess.STDOUT, env=env
            )

        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"kamailio exited: {self.log.read_text()[-3000:]}")
            try:
                self.rpc.call("core.version")
            except RpcError:
                return False
            return True

        wait_for(ready, timeout, "kamailio's RPC")
        return self

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)

    def log_records(self) -> list[dict[str, Any]]:
        """Kamailio's log records (one JSON document a line: --log-engine=json); the few lines
        it prints before logging starts (its listeners) are left out."""
        records = []
        for line in self.log.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                records.append(json.loads(line))
        return records

    def log_messages(self) -> list[str]:
        return [record["message"] for record in self.log_records()]

    def dispatcher_flags(self) -> dict[str, str]:
        """URI -> dispatcher flags as Kamailio sees them now (A active, I inactive, D disabled,
        P probing)."""
        try:
            result = self.rpc.call("dispatcher.list")
        except RpcError as exc:
            if "No Destination Sets" in str(exc):
                return {}
            raise
        flags: dict[str, str] = {}
        for record in result.get("RECORDS", []):
            for target in record["SET"]["TARGETS"]:
                flags[target["DEST"]["URI"]] = target["DEST"]["FLAGS"]
        return flags


def seed_positions_tables(files: EdgeFiles) -> None:
    """The positions' tables (empty) when the test wrote none: the registrar's modules need
    them to start, as the chart's seed gives them."""
    from samu_operator.core import edge_positions

    for path, text in (
        (files.version, edge_positions.version_table()),
        (files.subscriber, edge_positions.subscriber_table([])),
        (files.address, edge_positions.address_table([])),
    ):
        if not path.exists():
            path.write_text(text)


def free_port_range(size: int) -> int:
    """The first of `size` consecutive UDP ports, none bound now on 127.0.0.1 (rtpengine's RTP
    range: it skips a port taken later by someone else, so a free start is enough)."""
    import random

    for _ in range(200):
        first = random.randrange(20000, 60000 - size, 2)
        taken = False
        for port in range(first, first + size, max(1, size // 16)):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind((HOST, port))
                except OSError:
                    taken = True
                    break
        if not taken:
            return first
    raise RuntimeError(f"no free range of {size} UDP ports on 127.0.0.1")


@dataclass
class Rtpengine:
    """rtpengine as the chart runs it (userspace, pcap recording into a spool), on 127.0.0.1."""

    workdir: Path
    ports: int = 400
    ng_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    port_min: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def spool(self) -> Path:
        return self.workdir / "spool"

    @property
    def sock(self) -> str:
        """Kamailio's rtpengine_sock for this instance."""
        return f"udp:{HOST}:{self.ng_port}"

    @property
    def log(self) -> Path:
        return self.workdir / "rtpengine.log"

    def command(self) -> list[str]:
        if not self.port_min:
            self.port_min = free_port_range(self.ports)
        cmd = ["rtpengine", "--config-file=none", "--foreground", "--log-stderr"]
        # the chart's two logical interfaces (carrier side, PBX side), both on loopback here
        cmd += ["--table=-1", f"--interface=carrier/{HOST}", f"--interface=internal/{HOST}"]
        cmd += [f"--listen-ng={HOST}:{self.ng_port}"]
        cmd += [f"--listen-http={HOST}:{self.http_port}"]
        cmd += [f"--port-min={self.port_min}", f"--port-max={self.port_min + self.ports - 1}"]
        cmd += ["--recording-method=pcap", f"--recording-dir={self.spool}"]
        cmd += ["--timeout=60", "--delete-delay=0", "--log-level=5", "--num-threads=2"]
        return cmd

    def start(self, timeout: float = 20.0) -> "Rtpengine":
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.spool.mkdir(exist_ok=True)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                self.command(), cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT
            )

        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"rtpengine exited: {self.log.read_text()[-3000:]}")
            return self.metric("rtpengine_uptime_seconds") is not None

        wait_for(ready, timeout, "rtpengine's HTTP listener")
        return self

    def metrics(self) -> str:
        import urllib.error
        import urllib.request

        try:
            url = f"http://{HOST}:{self.http_port}/metrics"
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode()
        except (urllib.error.URLError, OSError):
            return ""

    def metric(self, name: str) -> float | None:
        """The value of one sample line (`name` with its labels, as printed) or None."""
        for line in self.metrics().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[-1])
        return None

    def freeze(self) -> None:
        """SIGSTOP: rtpengine hangs (its socket stays open, nothing answers: each command
        times out, unlike a dead process whose port refuses at once)."""
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def kill(self) -> None:
        """SIGKILL: the edge's media anchor dies without a word (its files stay as they are)."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)


@dataclass
class Pbx:
    """A PBX stand-in: SIPp server answering probes and calls, naming itself in X-Pbx."""

    name: str
    workdir: Path
    #: a file name under tests/edge/scenarios, or an absolute path
    scenario: str = "pbx.xml"
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None
    #: more SIPp options (a media port, -rtp_echo)
    args: list[str] = field(default_factory=list)

    @property
    def uri(self) -> str:
        return f"sip:{HOST}:{self.port}"

    def start(self) -> "Pbx":
        cmd = ["sipp", "-sf", str(SCENARIOS / self.scenario), "-i", HOST, "-p", str(self.port)]
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
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)


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


def _parse_calls(path: Path) -> list[Call]:
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

    def start(self, rate: int, calls: int, hold_ms: int = 1000, limit: int = 2000) -> "Caller":
        self._planned = calls
        self._log = self.workdir / f"{self.name}-{self.port}.log"
        scenario = self.workdir / f"caller-{hold_ms}ms.xml"
        if not scenario.exists():
            text = (SCENARIOS / "caller.xml").read_text()
            scenario.write_text(text.replace('timeout="HOLD_MS"', f'timeout="{hold_ms}"'))
        cmd = ["sipp", f"{HOST}:{self.edge.sip_port}", "-sf", str(scenario)]
        cmd += ["-i", HOST, "-p", str(self.port), "-s", self.number, "-nostdin"]
        cmd += ["-key", "dep", self.department or "-", "-key", "caller", self.caller_prefix]
        cmd += ["-r", str(rate), "-m", str(calls), "-l", str(limit)]
        cmd += ["-trace_logs", "-log_file", str(self._log), "-timeout", "60"]
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
            _stop(self.proc)
            rc = -1
        return CallerRun(self._planned, _parse_calls(self._log), rc, str(self._log))

    def run(self, rate: int, calls: int, hold_ms: int = 200) -> CallerRun:
        return self.start(rate, calls, hold_ms).wait()

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)


@contextlib.contextmanager
def started(*things: "Kamailio | Pbx") -> Iterator[None]:
    try:
        yield
    finally:
        for thing in reversed(things):
            thing.stop()
