"""The keeper's lab on 127.0.0.1: a real rtpengine (the edge's flags), a real redis-server,
keeper daemons (``python -m samu_keeper``), SIPp PBX stand-ins echoing audio and SIPp
callers sending marker audio straight to a keeper. Everything is started with ports from the
kernel and stopped by the object that started it, by its own pid."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.edge.harness import HOST, Pbx, Rtpengine, _stop, free_port, free_port_range, wait_for
from tests.media.audio import write_marker_pcap

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
REPO = Path(__file__).resolve().parents[2]


@dataclass
class RedisServer:
    """A throw-away redis-server on 127.0.0.1 (no persistence), stopped by its pid."""

    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.port}/0"

    def start(self) -> RedisServer:
        import redis

        cmd = ["redis-server", "--bind", HOST, "--port", str(self.port), "--save", ""]
        cmd += ["--appendonly", "no", "--dir", str(self.workdir)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url)

        def up() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"redis-server did not start on {HOST}:{self.port}")
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        try:
            wait_for(up, 20, "redis-server")
        finally:
            client.close()
        return self

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)


@dataclass
class KeeperProc:
    """One keeper daemon, as the chart runs it (``python -m samu_keeper``)."""

    workdir: Path
    keeper_id: str
    rtpengine: Rtpengine
    redis_url: str
    port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.workdir / f"{self.keeper_id}.log"

    @property
    def ledger(self) -> Path:
        return self.workdir / "dropped-calls.jsonl"

    def start(self) -> KeeperProc:
        env = {
            **os.environ,
            "SAMU_KEEPER_KEEPER_ID": self.keeper_id,
            "SAMU_KEEPER_LISTEN": f"{HOST}:{self.port}",
            "SAMU_KEEPER_RTPENGINE": f"{HOST}:{self.rtpengine.ng_port}",
            "SAMU_KEEPER_DIRECTIONS": "carrier,internal",
            "SAMU_KEEPER_REDIS_URL": self.redis_url,
            "SAMU_KEEPER_METRICS": f"{HOST}:{self.metrics_port}",
            "SAMU_KEEPER_PROMPT_DIR": str(self.workdir / "prompt"),
            "SAMU_KEEPER_LEDGER": str(self.ledger),
            "SAMU_KEEPER_HEARTBEAT_MS": "600",
            **self.env,
        }
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "samu_keeper"], cwd=REPO, env=env,
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip

        def up() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"keeper exited: {self.log.read_text()[-3000:]}")
            return bool(self.metrics())

        wait_for(up, 30, f"keeper {self.keeper_id}'s /metrics")
        return self

    def metrics(self) -> dict[tuple[str, tuple], float]:
        try:
            url = f"http://{HOST}:{self.metrics_port}/metrics"
            with urllib.request.urlopen(url, timeout=2) as response:
                text = response.read().decode()
        except OSError:
            return {}
        return {
            (s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }

    def metric(self, name: str, **labels: str) -> float:
        return self.metrics().get((name, tuple(sorted(labels.items()))), 0.0)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)


def audio_pbx(workdir: Path, name: str, scenario: str = "pbx.xml") -> Pbx:
    """A PBX stand-in echoing the audio it gets (SIPp -rtp_echo)."""
    media = free_port_range(4)
    args = ["-mi", HOST, "-mp", str(media), "-rtp_echo", "-trace_logs"]
    args += ["-log_file", str(workdir / f"{name}.log")]
    return Pbx(name, workdir, scenario=str(SCENARIOS / scenario), args=args).start()


def pbx_lines(workdir: Path, name: str) -> list[list[str]]:
    path = workdir / f"{name}.log"
    text = path.read_text(errors="replace") if path.exists() else ""
    return [
        line.split(" ")
        for line in text.splitlines()
        if line.startswith(("CALL ", "BYE ", "REFRESH ", "MOVED "))
    ]


@dataclass
class Callers:
    """SIPp placing ``calls`` calls to a keeper, each sending marker audio for ``hold_ms``."""

    workdir: Path
    keeper: KeeperProc
    targets: list[Pbx]
    tenant: str = "samu-30"
    scenario: str = "caller.xml"
    #: where the INVITEs go: the keeper (None), or another port (a PBX, for a baseline)
    to_port: int | None = None
    port: int = field(default_factory=free_port)
    media_port: int = field(default_factory=lambda: free_port_range(40))
    proc: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.workdir / f"caller-{self.port}.log"

    def start(self, calls: int, hold_ms: int, rate: int = 20) -> Callers:
        seconds = min(37, hold_ms // 1000 + 1)  # audio the whole call long
        audio = self.workdir / f"markers-{seconds}s.pcap"
        if not audio.exists():
            write_marker_pcap(audio, seconds)
        scenario = self.workdir / self.scenario
        text = (SCENARIOS / self.scenario).read_text()
        scenario.write_text(
            text.replace("PCAP_FILE", str(audio)).replace('"HOLD_MS"', f'"{hold_ms}"')
        )
        targets = ", ".join(f"<{pbx.uri}>" for pbx in self.targets)
        to = self.to_port or self.keeper.port
        cmd = ["sipp", f"{HOST}:{to}", "-sf", str(scenario), "-i", HOST]
        cmd += ["-mi", HOST, "-p", str(self.port), "-mp", str(self.media_port)]
        cmd += ["-key", "tenant", self.tenant, "-key", "targets", targets]
        cmd += ["-r", str(rate), "-m", str(calls), "-l", str(calls), "-nostdin"]
        cmd += ["-trace_logs", "-log_file", str(self.log), "-timeout", "60"]
        cmd += ["-recv_timeout", "8000", "-max_recv_loops", "5000"]
        err = (self.workdir / f"caller-{self.port}.err").open("wb")
        self.proc = subprocess.Popen(cmd, cwd=self.workdir, stdout=subprocess.DEVNULL, stderr=err)
        return self

    def answered(self) -> list[str]:
        return list(self.media_ports())

    def media_ports(self) -> dict[str, int]:
        """Answered calls and the media port the caller got in its 200 (rtpengine's when the
        call is anchored)."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return {c: int(p) for c, p in re.findall(r"^KEPT (\S+) (\d+) answered$", text, re.M)}

    def setup_seconds(self) -> list[float]:
        """INVITE to 200 OK of each answered call, as the caller saw it."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        found = re.findall(r"^SETUP \S+ ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)$", text, re.M)
        return [
            (float(s1) + float(u1) / 1e6) - (float(s0) + float(u0) / 1e6)
            for s0, u0, s1, u1 in found
        ]

    def byes(self) -> dict[str, str]:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return dict(re.findall(r"^BYE (\S+) (\w+)$", text, re.M))

    def wait(self, timeout: float = 60) -> int:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            _stop(self.proc)
            return -1

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)


def wait_answered(callers: Callers, count: int, timeout: float = 10) -> None:
    wait_for(lambda: len(callers.answered()) >= count, timeout, f"{count} answered calls")


@dataclass
class Lab:
    workdir: Path
    redis_url: str
    rtpengine: Rtpengine
    pbxs: dict[str, Pbx] = field(default_factory=dict)
    media_ports: dict[str, int] = field(default_factory=dict)
    keepers: list[KeeperProc] = field(default_factory=list)
    callers: list[Callers] = field(default_factory=list)
    edges: list[EdgeStub] = field(default_factory=list)

    def pbx(self, name: str, scenario: str = "pbx.xml") -> Pbx:
        pbx = audio_pbx(self.workdir, name, scenario)
        self.pbxs[name] = pbx
        self.media_ports[name] = int(pbx.args[pbx.args.index("-mp") + 1])
        return pbx

    def keeper(self, keeper_id: str = "keeper-a", **env: str) -> KeeperProc:
        keeper = KeeperProc(self.workdir, keeper_id, self.rtpengine, self.redis_url, env=env)
        self.keepers.append(keeper.start())
        return keeper

    def edge(self, first: KeeperProc, second: KeeperProc) -> EdgeStub:
        edge = EdgeStub(self.workdir, first, second).start()
        self.edges.append(edge)
        return edge

    def call(
        self, keeper: KeeperProc, targets: list[Pbx], calls: int, hold_ms: int,
        scenario: str = "caller.xml", to_port: int | None = None,
    ) -> Callers:  # fmt: skip
        callers = Callers(self.workdir, keeper, targets, scenario=scenario, to_port=to_port)
        callers.start(calls, hold_ms)
        self.callers.append(callers)
        return callers

    def lines(self, name: str) -> list[list[str]]:
        return pbx_lines(self.workdir, name)

    def stop(self) -> None:
        for thing in (
            *self.callers,
            *self.edges,
            *self.keepers,
            *self.pbxs.values(),
            self.rtpengine,
        ):
            thing.stop()


@dataclass
class EdgeStub:
    """Kamailio with tests/keeper/edge_stub.cfg in front of two keepers: record-routes the
    INVITE to the first, relays an in-dialog request that its keeper does not answer to the
    other (what docs/keeper.md asks of the edge for kept calls)."""

    workdir: Path
    first: KeeperProc
    second: KeeperProc
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.workdir / "edge-stub.log"

    def start(self) -> EdgeStub:
        cfg = Path(__file__).resolve().parent / "edge_stub.cfg"
        cmd = ["kamailio", "-DD", "-E", "-f", str(cfg), "-m", "64", "-M", "8"]
        cmd += ["-P", str(self.workdir / "edge-stub.pid"), "-Y", str(self.workdir)]
        cmd += ["-A", f"EDGE_LISTEN=udp:{HOST}:{self.port}"]
        cmd += ["-A", f'KEEPER_A="sip:{HOST}:{self.first.port}"']
        cmd += ["-A", f'KEEPER_B="sip:{HOST}:{self.second.port}"']
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        wait_for(self._answers, 20, "the edge stub")
        return self

    def _answers(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"kamailio exited: {self.log.read_text()[-2000:]}")
        probe = "\r\n".join([
            f"OPTIONS sip:{HOST}:{self.port} SIP/2.0",
            f"Via: SIP/2.0/UDP {HOST}:9;branch=z9hG4bKprobe{time.monotonic_ns()}",
            f"From: <sip:probe@{HOST}>;tag=p", f"To: <sip:{HOST}>", "Call-ID: probe",
            "CSeq: 1 OPTIONS", "Max-Forwards: 70", "Content-Length: 0", "", "",
        ])  # fmt: skip
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.bind((HOST, 0))
            sock.settimeout(0.3)
            probe = probe.replace(f"{HOST}:9;", f"{HOST}:{sock.getsockname()[1]};")
            sock.sendto(probe.encode(), (HOST, self.port))
            try:
                return sock.recv(4096).startswith(b"SIP/2.0 ")
            except TimeoutError:
                return False

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
