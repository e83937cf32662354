"""G.711 test audio with timing markers, and the detector that reads them back.

Second k of a caller's audio is a pure tone at ``300 + 100 * k`` Hz (k = 0..36), PCMU (RTP
payload type 0), 20 ms packets of 160 bytes, about half scale. A recording's seconds are then
told apart by their tone: which seconds of the caller's audio it holds, from the first to the
hang-up. The recording shipper's tests use the same scheme.

Hand-written on purpose: G.711 mu-law is a few lines (audioop is gone from Python 3.13), the
pcap format is a 24-byte header plus 16 bytes a packet, and the Goertzel filter is one loop;
none is worth a dependency (numpy, scapy) in the test environment.
"""

import math
import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

RATE = 8000
PACKET_SAMPLES = 160  # 20 ms of 8 kHz audio: 160 bytes of PCMU
PCMU = 0
MARKERS = 37  # seconds 0..36
AMPLITUDE = 16000  # of 32767: about half scale


def marker_hz(second: int) -> int:
    """The tone of second `second` of the caller's audio."""
    return 300 + 100 * second


# --- G.711 mu-law (ITU-T G.711, the reference bias-and-segment form) ---
_BIAS = 0x84
_CLIP = 32635


def mulaw_encode(sample: int) -> int:
    sign = 0x80 if sample < 0 else 0
    magnitude = min(abs(sample), _CLIP) + _BIAS
    exponent = max(0, magnitude.bit_length() - 8)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def mulaw_decode(byte: int) -> int:
    byte = ~byte & 0xFF
    exponent = (byte >> 4) & 0x07
    magnitude = ((((byte & 0x0F) << 3) + _BIAS) << exponent) - _BIAS
    return -magnitude if byte & 0x80 else magnitude


_DECODE = [mulaw_decode(b) for b in range(256)]


def decode(payload: bytes) -> list[int]:
    return [_DECODE[b] for b in payload]


def marker_audio(seconds: int = MARKERS) -> bytes:
    """`seconds` seconds of PCMU: second k a tone at marker_hz(k); past second 36 the markers
    start again at 0 (long benchmark calls: a test reads the first 37 seconds)."""
    if seconds < 1:
        raise ValueError(f"seconds: at least 1, got {seconds}")
    out = bytearray()
    for k in range(seconds):
        step = 2 * math.pi * marker_hz(k % MARKERS) / RATE
        out += bytes(mulaw_encode(round(AMPLITUDE * math.sin(step * n))) for n in range(RATE))
    return bytes(out)


# --- pcap files: SIPp's play_pcap_audio input, rtpengine's recordings ---
_ETHERNET, _RAW, _LINUX_SLL = 1, 101, 113


def write_marker_pcap(path: Path, seconds: int = MARKERS, ssrc: int = 0x15151515) -> Path:
    """A pcap of RTP packets (Ethernet/IPv4/UDP) of marker audio, stamped 20 ms apart: SIPp
    plays the UDP payloads at the pace of the stamps."""
    audio = marker_audio(seconds)
    records = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, _ETHERNET))
    for i in range(len(audio) // PACKET_SAMPLES):
        payload = audio[i * PACKET_SAMPLES : (i + 1) * PACKET_SAMPLES]
        rtp = struct.pack("!BBHII", 0x80, PCMU, i & 0xFFFF, i * PACKET_SAMPLES, ssrc) + payload
        udp = struct.pack("!HHHH", 4000, 4000, 8 + len(rtp), 0) + rtp
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0,
                         bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]))  # fmt: skip
        frame = b"\x00\x00\x00\x00\x00\x02" + b"\x00\x00\x00\x00\x00\x01" + b"\x08\x00"
        frame += ip + udp
        usec = i * 20000
        records += struct.pack("<IIII", usec // 1_000_000, usec % 1_000_000, len(frame), len(frame))
        records += frame
    path.write_bytes(bytes(records))
    return path


@dataclass(frozen=True)
class RtpPacket:
    source: tuple[str, int]
    destination: tuple[str, int]
    payload_type: int
    sequence: int
    timestamp: int
    ssrc: int
    payload: bytes
    #: when the packet was captured (the pcap record's time, seconds since the epoch)
    at: float = 0.0


def read_pcap_rtp(path: Path) -> list[RtpPacket]:
    """The RTP packets (IPv4/UDP) of a pcap file, whatever its link type (Ethernet, raw IP,
    Linux cooked); a file still being written is read up to its last whole record."""
    data = path.read_bytes()
    if len(data) < 24:
        return []
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    link = struct.unpack(endian + "I", data[20:24])[0]
    offset = {_ETHERNET: 14, _RAW: 0, _LINUX_SLL: 16}.get(link)
    if offset is None:
        raise ValueError(f"{path}: pcap link type {link} is not Ethernet, raw IP or Linux SLL")
    packets: list[RtpPacket] = []
    pos = 24
    while pos + 16 <= len(data):
        seconds, fraction, caplen = struct.unpack(endian + "III", data[pos : pos + 12])
        frame = data[pos + 16 : pos + 16 + caplen]
        pos += 16 + caplen
        if len(frame) < caplen:
            break
        ip = frame[offset:]
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        udp = ip[(ip[0] & 0x0F) * 4 :]
        rtp = udp[8:]
        if len(rtp) < 12 or rtp[0] >> 6 != 2:
            continue
        header = 12 + 4 * (rtp[0] & 0x0F)
        if rtp[0] & 0x10 and len(rtp) >= header + 4:
            header += 4 + 4 * struct.unpack("!H", rtp[header + 2 : header + 4])[0]
        src = (".".join(map(str, ip[12:16])), struct.unpack("!H", udp[0:2])[0])
        dst = (".".join(map(str, ip[16:20])), struct.unpack("!H", udp[2:4])[0])
        seq, ts, ssrc = struct.unpack("!HII", rtp[2:12])
        at = seconds + fraction / (1e9 if magic in (0xA1B23C4D, 0x4D3CB2A1) else 1e6)
        packets.append(RtpPacket(src, dst, rtp[1] & 0x7F, seq, ts, ssrc, rtp[header:], at))
    return packets


def streams(packets: Iterable[RtpPacket]) -> dict[tuple[str, int], list[RtpPacket]]:
    """Packets by sender (address, port), in the file's order."""
    out: dict[tuple[str, int], list[RtpPacket]] = {}
    for packet in packets:
        out.setdefault(packet.source, []).append(packet)
    return out


def stream_samples(packets: list[RtpPacket]) -> list[int]:
    """The PCMU audio of one stream placed by RTP timestamp (a lost packet leaves silence, a
    late one goes back in its place)."""
    pcmu = [p for p in packets if p.payload_type == PCMU]
    if not pcmu:
        return []
    first = min(p.timestamp for p in pcmu[:50])
    end = max((p.timestamp - first) & 0xFFFFFFFF for p in pcmu) + PACKET_SAMPLES
    samples = [0] * end
    for packet in pcmu:
        at = (packet.timestamp - first) & 0xFFFFFFFF
        samples[at : at + len(packet.payload)] = decode(packet.payload)
    return samples


def goertzel_power(samples: list[int], hz: float) -> float:
    """Power of one frequency in a block of samples (Goertzel filter)."""
    coeff = 2 * math.cos(2 * math.pi * hz / RATE)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    return s1 * s1 + s2 * s2 - coeff * s1 * s2


def marker_of(block: list[int]) -> int | None:
    """The marker second whose tone dominates a block (10x the runner-up), else None."""
    if not block:
        return None
    powers = sorted(
        ((goertzel_power(block, marker_hz(k)), k) for k in range(MARKERS)), reverse=True
    )
    best, runner_up = powers[0], powers[1]
    return best[1] if best[0] > 10 * runner_up[0] and best[0] > 0 else None


def markers(samples: list[int]) -> Iterator[int | None]:
    """The marker of each whole second of a stream (its middle half: the blocks need not
    start on a second boundary)."""
    for start in range(0, len(samples) - RATE + 1, RATE):
        yield marker_of(samples[start + RATE // 4 : start + 3 * RATE // 4])
