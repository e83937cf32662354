"""The real operator as a process of its own (``kopf run -m samu_operator.handlers``) against
the emulator, so that its CPU seconds and peak RSS are its own (the onboarding benchmark).

The emulator runs in the caller's event loop: everything here that waits for the process does
so in a thread. Waiting in the loop (``proc.wait()``) stops the emulator from answering the
operator, which is still finishing its handlers when it is told to stop: each of its requests
then hangs until its read timeout (10 s, three tries) and it has to be killed.
"""

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

from samu_operator import kube


class OperatorProcess:
    """``start()``; ``await stop()`` returns True when the operator exited by itself."""

    def __init__(
        self,
        url: str,
        *,
        log: Path | None = None,
        verbose: bool = False,
        env: dict[str, str] | None = None,
    ) -> None:
        self.url, self.log_path, self.verbose = url, log, verbose
        self.env = dict(env or {})  # on top of this process's environment
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[str] | None = None

    def start(self) -> None:
        env = dict(os.environ) | self.env
        env[kube.SERVER_ENV] = self.url
        env.setdefault("SAMU_OPERATOR_METRICS_PORT", "0")
        cmd = [sys.executable, "-m", "kopf", "run", "--standalone", "--all-namespaces"]
        cmd += ["--verbose" if self.verbose else "--quiet", "-m", "samu_operator.handlers"]
        self._log = open(self.log_path or os.devnull, "w")  # noqa: SIM115 (closed in stop)
        self.proc = subprocess.Popen(cmd, env=env, stdout=self._log, stderr=self._log)

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    async def stop(self, timeout: float = 30.0) -> bool:
        """SIGINT (Kopf stops cleanly), then wait without blocking the loop; kill after
        ``timeout``. True when it exited by itself within the timeout."""
        if self.proc is None:
            return True
        proc, self.proc = self.proc, None
        clean = True
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                await asyncio.to_thread(proc.wait, timeout)
            except subprocess.TimeoutExpired:
                clean = False
                proc.kill()
                await asyncio.to_thread(proc.wait)
        if self._log is not None:
            self._log.close()
        return clean and proc.returncode == 0

    def cpu_seconds(self) -> float:
        """User + system CPU seconds the operator has used so far."""
        assert self.proc is not None
        stat = Path(f"/proc/{self.proc.pid}/stat").read_text()
        fields = stat.rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def peak_rss_mb(self) -> float:
        """Peak resident memory (VmHWM) so far, in MB."""
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return float("nan")
