"""rtpengine as the edge chart runs it (userspace, pcap recording into a spool), on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import subprocess
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from samu_lab.procs import (
    HOST,
    free_port,
    free_port_range,
    kill_process,
    no_core_dump,
    stop_process,
    wait_for,
)


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

    def start(self, timeout: float = 20.0) -> Rtpengine:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.spool.mkdir(exist_ok=True)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                self.command(),
                cwd=self.workdir,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=no_core_dump,
            )

        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"rtpengine exited: {self.log.read_text()[-3000:]}")
            return self.metric("rtpengine_uptime_seconds") is not None

        wait_for(ready, timeout, "rtpengine's HTTP listener")
        return self

    def metrics(self) -> str:
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
        kill_process(self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
