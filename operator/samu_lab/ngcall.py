"""A real rtpengine on loopback (userspace, ``recording-method = pcap``) driven through its ng
protocol, and calls whose two sides are Python UDP sockets sending G.711 with audio markers."""

from __future__ import annotations

import re
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from samu_lab import tones as audio
from samu_lab.procs import no_core_dump
from samu_lab.swift import free_port
from samu_rtpengine.ng import NgClient

RTPENGINE = shutil.which("rtpengine")


def udp_port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def sdp(port: int) -> str:
    return (
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
    )


@dataclass
class Rtpengine:
    spool: Path
    log: Path
    ng_port: int = 0
    port_min: int = 0
    proc: subprocess.Popen | None = None

    def start(self) -> Rtpengine:
        self.spool.mkdir(parents=True, exist_ok=True)
        self.ng_port = self.ng_port or _free_udp_port()
        if not self.port_min:
            self.port_min = _free_udp_range(400)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [
                    RTPENGINE, "--foreground", "--log-stderr", "--config-file=none",
                    "--table=-1", "--interface=127.0.0.1",
                    f"--listen-ng=127.0.0.1:{self.ng_port}",
                    f"--port-min={self.port_min}", f"--port-max={self.port_min + 399}",
                    f"--recording-dir={self.spool}", "--recording-method=pcap",
                    "--recording-format=raw", "--delete-delay=0", "--log-level=4",
                ],
                stdout=log, stderr=subprocess.STDOUT, cwd=str(self.spool.parent),
                preexec_fn=no_core_dump,
            )  # fmt: skip
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                NgClient("127.0.0.1", self.ng_port, timeout=0.3, retries=0).command("ping")
                return self
            except Exception:
                if self.proc.poll() is not None:
                    raise RuntimeError(self.log.read_text()[-2000:]) from None
                time.sleep(0.1)
        raise TimeoutError("rtpengine did not answer ping")

    @property
    def ng(self) -> NgClient:
        return NgClient("127.0.0.1", self.ng_port)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _free_udp_range(size: int) -> int:
    base = 20000 + (free_port() % 20000)
    return base - base % 2


@dataclass
class Call:
    """One call through rtpengine: the caller (offer side) and the centre (answer side)."""

    engine: Rtpengine
    call_id: str
    tenant: str = "samu-30"
    caller: str = "+33466000001"
    called: str = "15"
    sent: int = 0
    stop_event: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None

    def __post_init__(self) -> None:
        self.a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.a.bind(("127.0.0.1", 0))
        self.b.bind(("127.0.0.1", 0))
        self.a.setblocking(False)
        self.b.setblocking(False)

    def setup(self) -> Call:
        meta = (
            f"tenant:{self.tenant}|caller:{self.caller}|called:{self.called}|callid:{self.call_id}"
        )
        offer = self.engine.ng.command(
            "offer", **{"call-id": self.call_id, "from-tag": "caller", "sdp": sdp(self.a.getsockname()[1]),
                        "record-call": "yes", "metadata": meta}
        )  # fmt: skip
        answer = self.engine.ng.command(
            "answer", **{"call-id": self.call_id, "from-tag": "caller", "to-tag": "centre",
                         "sdp": sdp(self.b.getsockname()[1]), "record-call": "yes"}
        )  # fmt: skip
        self.to_centre = int(re.search(r"m=audio (\d+)", offer["sdp"])[1])
        self.to_caller = int(re.search(r"m=audio (\d+)", answer["sdp"])[1])
        return self

    def send(self, index: int) -> None:
        head = struct.pack("!BBHII", 0x80, 0, index & 0xFFFF, index * audio.PACKET, 0x11110000)
        self.a.sendto(head + audio.caller_packet(index), ("127.0.0.1", self.to_caller))
        head = struct.pack("!BBHII", 0x80, 0, index & 0xFFFF, index * audio.PACKET, 0x22220000)
        self.b.sendto(head + audio.centre_packet(index), ("127.0.0.1", self.to_centre))
        self.sent = index + 1
        for sock in (self.a, self.b):  # drain what rtpengine forwards
            try:
                while sock.recv(2048):
                    pass
            except BlockingIOError:
                pass

    def play(self, seconds: float) -> None:
        """Sends ``seconds`` of both sides' audio, paced at 20 ms (packets keep their RTP
        timing even when the machine is slow: the recording places audio by RTP time)."""
        start = time.monotonic()
        first = self.sent
        for i in range(first, first + int(seconds * 50)):
            if self.stop_event.is_set():
                return
            self.send(i)
            delay = start + (i - first + 1) * 0.02 - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def play_in_background(self, seconds: float) -> None:
        self.thread = threading.Thread(target=self.play, args=(seconds,), daemon=True)
        self.thread.start()

    def wait(self) -> None:
        if self.thread:
            self.thread.join(timeout=120)

    def hang_up(self) -> None:
        self.stop_event.set()
        self.wait()
        self.engine.ng.command("delete", **{"call-id": self.call_id, "from-tag": "caller"})
        self.close()

    def close(self) -> None:
        self.a.close()
        self.b.close()
