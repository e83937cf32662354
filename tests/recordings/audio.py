"""The recording tests' marker tones, now in the call lab package (``samu_lab.tones``)."""

from samu_lab.tones import (  # noqa: F401
    AMPLITUDE,
    CENTRE_TONE,
    MARKERS,
    PACKET,
    RATE,
    caller_packet,
    centre_packet,
    dominant_marker,
    found_markers,
    goertzel,
    marker_hz,
    markers,
    tone,
)
