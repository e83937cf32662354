"""The rescue prompt played to the caller: "Restez en ligne, nous vous reprenons."

Spoken by espeak-ng (French voice) when it is installed, else a 440 Hz tone of the same
length, so that a build machine without espeak-ng still yields a playable prompt. 8 kHz mono
16-bit WAV: what rtpengine's ``play media`` transcodes to G.711 without resampling surprises.
"""

import math
import shutil
import struct
import subprocess
import wave
from pathlib import Path

TEXT = "Restez en ligne, nous vous reprenons."
RATE = 8000
TONE_SECONDS = 2.0


def generate(path: Path) -> str:
    """Write the prompt to ``path``; return ``"speech"`` or ``"tone"`` (what was written)."""
    espeak = shutil.which("espeak-ng")
    if espeak:
        raw = path.with_suffix(".raw.wav")
        subprocess.run(
            [espeak, "-v", "fr", "-s", "150", "-w", str(raw), TEXT], check=True, timeout=30
        )
        _resample_to_8k(raw, path)
        raw.unlink()
        return "speech"
    _tone(path)
    return "tone"


def _tone(path: Path) -> None:
    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / RATE)))
        for i in range(int(RATE * TONE_SECONDS))
    )
    _write(path, frames)


def _resample_to_8k(source: Path, target: Path) -> None:
    # espeak-ng writes 22050 Hz; nearest-sample decimation is enough for a spoken prompt
    # (no resampling library in the project for one file at build time).
    with wave.open(str(source), "rb") as wav:
        rate, width, data = wav.getframerate(), wav.getsampwidth(), wav.readframes(wav.getnframes())
    if width != 2:
        raise ValueError(f"espeak-ng wrote {8 * width}-bit audio; the prompt needs 16-bit")
    samples = struct.unpack(f"<{len(data) // 2}h", data)
    count = int(len(samples) * RATE / rate)
    picked = [samples[int(i * rate / RATE)] for i in range(count)]
    _write(target, struct.pack(f"<{count}h", *picked))


def _write(path: Path, frames: bytes) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(RATE)
        wav.writeframes(frames)
