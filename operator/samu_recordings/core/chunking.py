"""What is a closed chunk: the next byte range of a growing recording that may be shipped.

A chunk covers at most ``chunk_seconds`` of audio (2 s at most, so that an edge that dies loses
no more than that) and is *closed* when the recording has gone past it (a later packet, or more
samples), when the recording is finished, or when it has been quiet for a chunk's length (a
call on hold must not keep audio off the store); an open tail waits for the next look.
Boundaries depend on the file's content (and, for a quiet tail, on time): after a restart a
chunk shipped but not journalled is cut again from the same start to the same or a later end,
and lands on the same object name, replacing the first upload: never a duplicate, never a gap.
"""

import struct

from samu_recordings.core import pcap

MAX_CHUNK_SECONDS = 2.0
WAV_SAMPLE_RATE = 8000


def check_chunk_seconds(value: float) -> float:
    if not 0 < value <= MAX_CHUNK_SECONDS:
        raise ValueError(
            f"SAMU_SHIPPER_CHUNK_SECONDS: {value}; give a duration in (0, {MAX_CHUNK_SECONDS}] s"
        )
    return value


def pcap_chunk_end(
    header: bytes,
    body: bytes,
    base: int,
    chunk_seconds: float,
    finished: bool,
    now: float | None = None,
) -> int | None:
    """End offset of the closed pcap chunk that starts at ``base`` (``body`` holds the file from
    ``base``), or None when no chunk is closed yet. ``now`` (wall clock, as the packets' times)
    closes a tail that has been quiet for ``chunk_seconds``."""
    recs = pcap.records(header, body, base)
    if not recs:
        return None
    limit = recs[0].time + chunk_seconds
    for rec in recs:
        if rec.time >= limit:
            return rec.start
    quiet = now is not None and now - recs[-1].time >= chunk_seconds
    return recs[-1].end if finished or quiet else None


def pcap_chunk_ends(
    spans: "list[pcap.Span]", chunk_seconds: float, finished: bool, now: float | None = None
) -> list[int]:
    """End offsets of every closed chunk of ``spans`` (the file's whole records from the first
    unshipped one on), in order: the ends ``pcap_chunk_end`` gives one after the other, in one
    pass over the records."""
    ends: list[int] = []
    if not spans:
        return ends
    limit = spans[0].time + chunk_seconds
    for span in spans:
        if span.time >= limit:
            ends.append(span.start)
            limit = span.time + chunk_seconds
    last = ends[-1] if ends else spans[0].start
    quiet = now is not None and now - spans[-1].time >= chunk_seconds
    if (finished or quiet) and spans[-1].end > last:
        ends.append(spans[-1].end)
    return ends


def wav_data_offset(header: bytes) -> int:
    """Offset of the samples in a WAV file (walks the RIFF chunks to ``data``)."""
    if header[:4] != b"RIFF" or header[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    pos = 12
    while pos + 8 <= len(header):
        tag, size = header[pos : pos + 4], struct.unpack("<I", header[pos + 4 : pos + 8])[0]
        if tag == b"data":
            return pos + 8
        pos += 8 + size + (size & 1)
    raise ValueError("WAV header has no data chunk in its first bytes")


def wav_finished(header: bytes, size: int) -> bool:
    """Asterisk writes the sizes into the header when MixMonitor closes the file."""
    offset = wav_data_offset(header)
    data_size = struct.unpack("<I", header[offset - 4 : offset])[0]
    return data_size > 0 and offset + data_size == size


def wav_chunk_end(
    size: int,
    base: int,
    data_offset: int,
    frame_bytes: int,
    chunk_seconds: float,
    finished: bool,
    quiet: bool = False,
) -> int | None:
    """End offset of the closed WAV chunk starting at ``base`` in a file of ``size`` bytes;
    ``quiet``: the file has not grown for ``chunk_seconds``."""
    start = max(base, data_offset)
    step = int(chunk_seconds * WAV_SAMPLE_RATE) * frame_bytes
    whole = size - (size - data_offset) % frame_bytes
    if whole >= start + step:
        return start + step
    if (finished or quiet) and whole > base:
        return whole
    return None


def pending_since(
    kind: str, header: bytes, body: bytes, base: int, size: int, mtime: float
) -> float | None:
    """Wall-clock time of the oldest audio not yet in the store (None: all of it is): the
    first unshipped packet of a pcap, or for a WAV the moment its first unshipped sample was
    written (the file grows in real time)."""
    if kind == "pcap":
        recs = pcap.records(header[: pcap.GLOBAL_HEADER], body, base)
        return recs[0].time if recs else None
    pending = size - max(base, 44)
    if pending <= 0:
        return None
    channels = int.from_bytes(header[22:24], "little") or 1
    return mtime - pending / (2 * channels * WAV_SAMPLE_RATE)
