"""Reading rtpengine's pcap files as they grow: whole records only, RTP inside.

rtpengine (``recording-method = pcap``, ``recording-format = raw``) writes a classic pcap
(24-byte global header, link type 101 raw IP; ``eth`` adds a 14-byte Ethernet header) with one
record per RTP packet it received, in 4 KiB blocks: the file may end in the middle of a record,
so a reader takes whole records only and comes back for the rest.
"""

import struct
from dataclasses import dataclass

GLOBAL_HEADER = 24
RECORD_HEADER = 16
LINKTYPE_ETHERNET, LINKTYPE_RAW = 1, 101


@dataclass(frozen=True)
class Record:
    """One captured packet: where it ends in the file, when, and its RTP content if any."""

    start: int
    end: int
    time: float
    dst_port: int
    ssrc: int
    payload_type: int
    sequence: int
    timestamp: int
    payload: bytes


class PcapError(ValueError):
    """The bytes are not a pcap file rtpengine could have written."""


def header_info(data: bytes) -> tuple[str, int]:
    """Byte order prefix and link type of a pcap global header."""
    if len(data) < GLOBAL_HEADER:
        raise PcapError("pcap shorter than its 24-byte global header")
    magic = data[:4]
    if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        order = "<"
    elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        order = ">"
    else:
        raise PcapError(f"not a pcap file (magic {magic.hex()})")
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(order + "I", data[20:24])[0]
    return order + ("n" if nano else "u"), linktype


@dataclass(frozen=True)
class Span:
    """Where one whole record lies in the file, and when it was captured (its packet unread)."""

    start: int
    end: int
    time: float


def spans(header: bytes, body: bytes, base: int = 0) -> list[Span]:
    """Every whole record of ``body`` (as ``records``), reading the 16-byte record headers
    only: what cutting chunks needs, several times cheaper than parsing each packet."""
    if len(header) < GLOBAL_HEADER:
        return []
    fmt, _linktype = header_info(header)
    unpack = struct.Struct(fmt[0] + "IIII").unpack_from
    scale = 1e-9 if fmt[1] == "n" else 1e-6
    out: list[Span] = []
    pos, size = max(base, GLOBAL_HEADER) - base, len(body)
    while pos + RECORD_HEADER <= size:
        sec, frac, incl, _orig = unpack(body, pos)
        end = pos + RECORD_HEADER + incl
        if end > size:
            break
        out.append(Span(base + pos, base + end, sec + frac * scale))
        pos = end
    return out


def records(header: bytes, body: bytes, base: int = 0) -> list[Record]:
    """Every whole record of ``body``, the file's bytes from offset ``base`` (a record
    boundary, or 0) on; ``header`` is the file's first 24 bytes. Offsets are the file's."""
    if len(header) < GLOBAL_HEADER:
        return []
    fmt, linktype = header_info(header)
    order, scale = fmt[0], (1e-9 if fmt[1] == "n" else 1e-6)
    link = 14 if linktype == LINKTYPE_ETHERNET else 0
    out: list[Record] = []
    pos = max(base, GLOBAL_HEADER) - base
    while pos + RECORD_HEADER <= len(body):
        sec, frac, incl, _orig = struct.unpack(order + "IIII", body[pos : pos + RECORD_HEADER])
        end = pos + RECORD_HEADER + incl
        if end > len(body):
            break
        packet = body[pos + RECORD_HEADER : end]
        out.append(_parse(packet, link, base + pos, base + end, sec + frac * scale))
        pos = end
    return out


def _parse(packet: bytes, link: int, start: int, end: int, when: float) -> Record:
    ip = packet[link:]
    empty = Record(start, end, when, 0, 0, -1, 0, 0, b"")
    if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
        return empty
    udp = ip[(ip[0] & 0x0F) * 4 :]
    if len(udp) < 20:
        return empty
    dst_port = struct.unpack("!H", udp[2:4])[0]
    rtp = udp[8:]
    if rtp[0] >> 6 != 2:
        return empty
    csrc = (rtp[0] & 0x0F) * 4
    seq, ts, ssrc = struct.unpack("!HII", rtp[2:12])
    return Record(start, end, when, dst_port, ssrc, rtp[1] & 0x7F, seq, ts, bytes(rtp[12 + csrc :]))
