"""A stand-in for Asterisk's MixMonitor (Asterisk cannot run here): writes
``<Call-ID-safe>.wav`` as it does, a 44-byte header whose sizes stay 0 while the call lasts,
8 kHz 16-bit mono samples appended as they come, the sizes written at the end."""

from __future__ import annotations

import struct
import time
from pathlib import Path

from samu_lab import tones as audio
from samu_recordings.core import g711


def header(data_size: int) -> bytes:
    return (
        b"RIFF" + struct.pack("<I", 36 + data_size if data_size else 0) + b"WAVE"
        + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
        + b"data" + struct.pack("<I", data_size)
    )  # fmt: skip


class MixMonitorStandIn:
    def __init__(self, directory: Path, call_id: str) -> None:
        self.path = directory / f"{call_id}.wav"
        directory.mkdir(parents=True, exist_ok=True)
        self.file = open(self.path, "wb")  # noqa: SIM115 (open for the call's length)
        self.file.write(header(0))
        self.file.flush()
        self.frames = 0

    def write_packet(self) -> None:
        """20 ms of the caller's audio (the markers), flushed as Asterisk does."""
        samples = g711.decode(audio.caller_packet(self.frames // audio.PACKET))
        self.file.write(samples.tobytes())
        self.file.flush()
        self.frames += audio.PACKET

    def play(self, seconds: float) -> None:
        start = time.monotonic()
        for i in range(int(seconds * 50)):
            self.write_packet()
            delay = start + (i + 1) * 0.02 - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def close(self) -> None:
        self.file.seek(0)
        self.file.write(header(2 * self.frames))
        self.file.close()
