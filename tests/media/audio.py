"""The marker audio, now in the call lab package (``samu_lab.markers``)."""

from samu_lab.markers import (  # noqa: F401
    AMPLITUDE,
    MARKERS,
    PACKET_SAMPLES,
    PCMU,
    RATE,
    RtpPacket,
    decode,
    goertzel_power,
    marker_audio,
    marker_hz,
    marker_of,
    markers,
    mulaw_decode,
    mulaw_encode,
    read_pcap_rtp,
    stream_samples,
    streams,
    write_marker_pcap,
)
