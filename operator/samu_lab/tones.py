"""Audio markers shared with the media tests: second k of the caller's audio is a pure tone at
300 + 100*k Hz (k = 0..36), PCMU, 20 ms packets of 160 bytes, about half scale. ``markers``
tells which seconds a decoded recording holds (Goertzel filter per second)."""

import itertools
import math
from array import array

from samu_recordings.core import g711

RATE = 8000
PACKET = 160  # 20 ms
AMPLITUDE = 16000  # about half scale
MARKERS = 37
CENTRE_TONE = 4000.0 - 250.0  # the centre's side: one steady tone, above every marker


def marker_hz(k: int) -> float:
    return 300.0 + 100.0 * k


def tone(hz: float, first_sample: int, count: int) -> array:
    return array(
        "h",
        (
            round(AMPLITUDE * math.sin(2 * math.pi * hz * (first_sample + i) / RATE))
            for i in range(count)
        ),
    )


def caller_packet(index: int) -> bytes:
    """PCMU payload of the caller's 20 ms packet number ``index`` (second = index // 50)."""
    k = (index * PACKET // RATE) % MARKERS
    return bytes(g711.encode_ulaw(s) for s in tone(marker_hz(k), index * PACKET, PACKET))


def centre_packet(index: int) -> bytes:
    return bytes(g711.encode_ulaw(s) for s in tone(CENTRE_TONE, index * PACKET, PACKET))


def goertzel(samples: array, hz: float) -> float:
    coeff = 2 * math.cos(2 * math.pi * hz / RATE)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    return s1 * s1 + s2 * s2 - coeff * s1 * s2


def dominant_marker(window: array) -> int | None:
    """The marker k whose tone dominates ``window`` (10x the runner-up), else None."""
    if not any(window):
        return None
    powers = sorted(((goertzel(window, marker_hz(k)), k) for k in range(MARKERS)), reverse=True)
    best, runner = powers[0], powers[1]
    return best[1] if best[0] > 10 * runner[0] else None


def markers(samples: array) -> list[int | None]:
    """For each whole second of ``samples`` (8 kHz mono), the marker found in its middle half
    (so that a second cut slightly off its edge still reads)."""
    out = []
    for start in range(0, len(samples) - RATE + 1, RATE):
        out.append(dominant_marker(samples[start + RATE // 4 : start + 3 * RATE // 4]))
    return out


def found_markers(samples: array) -> set[int]:
    """Every marker heard anywhere in ``samples``, reading half-second windows."""
    step = RATE // 2
    found = set()
    for start in range(0, len(samples) - step + 1, step // 2):
        k = dominant_marker(samples[start : start + step])
        if k is not None:
            found.add(k)
    return found


#: Blocks of 0.1 s: a marker's tone gives 2 * f / 10 zero crossings (60 to 780), 20 apart.
_BLOCK = RATE // 10
_QUIET = 1000  # peak below this: silence, not a tone
_HELD_BLOCKS = 5  # a second is held when half of it is there


def heard_seconds(samples: array) -> set[int]:
    """Every marker second heard in ``samples`` (8 kHz mono), fast: each 0.1 s block's tone
    is read from its zero crossings (a pure tone at f Hz crosses zero 2f times a second), and
    a marker counts once five blocks in a row (half its second) agree. About 100 times cheaper than ``markers``
    (Goertzel over 37 tones), for the drill that reads thousands of seconds back."""
    found: set[int] = set()
    run_marker, run = None, 0
    for start in range(0, len(samples) - _BLOCK + 1, _BLOCK):
        block = samples[start : start + _BLOCK]
        k = None
        if max(block) > _QUIET:
            crossings = sum(1 for a, b in itertools.pairwise(block) if (a < 0) != (b < 0))
            hz = crossings * RATE / (2 * _BLOCK)
            guess = round((hz - 300.0) / 100.0)
            if 0 <= guess < MARKERS and abs(hz - marker_hz(guess)) <= 30:
                k = guess
        run = run + 1 if k is not None and k == run_marker else (1 if k is not None else 0)
        run_marker = k
        if run >= _HELD_BLOCKS:
            found.add(k)  # type: ignore[arg-type]
    return found
