"""What every lab process needs: loopback ports from the kernel, waiting with a bound, and
stopping one process by its own PID."""

from __future__ import annotations

import contextlib
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable

HOST = "127.0.0.1"
#: The Debian binaries the SIP and media labs run.
BINARIES = ("kamailio", "sipp", "rtpengine")


class LabError(RuntimeError):
    """A lab part could not start or answer; the message says which and why."""


def missing_binaries(names: tuple[str, ...] = BINARIES) -> list[str]:
    return [b for b in names if shutil.which(b) is None]


def free_port(host: str = HOST) -> int:
    """A port free for both UDP and TCP on ``host`` (SIP listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
                return port
    raise LabError(f"no free port on {host}")


def free_port_range(size: int) -> int:
    """The first of `size` consecutive UDP ports, none bound now on 127.0.0.1 (rtpengine's RTP
    range: it skips a port taken later by someone else, so a free start is enough)."""
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
    raise LabError(f"no free range of {size} UDP ports on 127.0.0.1")


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 5.0) -> None:
    """SIGTERM (after a SIGCONT: it may be frozen), then SIGKILL if it lingers."""
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


def kill_process(proc: subprocess.Popen[bytes] | None, timeout: float = 10.0) -> None:
    """SIGKILL: the part dies without a word (its files stay as they are)."""
    if proc is not None and proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout)


def no_core_dump() -> None:
    """rtpengine 10.5 may dump a ~70 MB core when stopped: not in the lab's directories."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
