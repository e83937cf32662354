"""Writes pcap files as rtpengine does (raw IP link type, one record per RTP packet), for the
pure tests that need a recording without running rtpengine."""

import struct

from samu_lab import tones as audio

CALLER_PORT, CENTRE_PORT = 30002, 30000


def global_header() -> bytes:
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101)


def record(when: float, dst_port: int, ssrc: int, seq: int, payload: bytes) -> bytes:
    rtp = struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, seq * 160, ssrc) + payload
    udp = struct.pack("!HHHH", 40000, dst_port, 8 + len(rtp), 0) + rtp
    ip = (
        struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0,
                    bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1]))
        + udp
    )  # fmt: skip
    sec = int(when)
    return struct.pack("<IIII", sec, round((when - sec) * 1e6), len(ip), len(ip)) + ip


def call_pcap(seconds: float, t0: float = 1_800_000_000.0) -> bytes:
    """Both sides of a call: caller markers to CALLER_PORT, the centre's tone to CENTRE_PORT."""
    out = [global_header()]
    for i in range(int(seconds * 50)):
        when = t0 + i * 0.02
        out.append(record(when, CALLER_PORT, 0x1111, i, audio.caller_packet(i)))
        out.append(record(when + 0.001, CENTRE_PORT, 0x2222, i, audio.centre_packet(i)))
    return b"".join(out)
