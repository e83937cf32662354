"""What is a closed chunk: the next byte range of a growing recording that may be shipped.

A chunk covers at most ``chunk_seconds`` of audio (2 s at most, so that an edge that dies loses
no more than that) and is *closed* when the recording has gone past it (a later packet, or more
samples) or when the recording is finished; an open tail waits for the next look. Boundaries
depend on the file's content only, so after a restart the same chunks are cut again: a chunk
shipped twice lands on the same object name with the same bytes, never as a duplicate.
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
    header: bytes, body: bytes, base: int, chunk_seconds: float, finished: bool
) -> int | None:
    """End offset of the closed pcap chunk that starts at ``base`` (``body`` holds the file from
    ``base``), or None when no chunk is closed yet."""
    recs = pcap.records(header, body, base)
    if not recs:
        return None
    limit = recs[0].time + chunk_seconds
    for rec in recs:
        if rec.time >= limit:
            return rec.start
    return recs[-1].end if finished else None


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
    size: int, base: int, data_offset: int, frame_bytes: int, chunk_seconds: float, finished: bool
) -> int | None:
    """End offset of the closed WAV chunk starting at ``base`` in a file of ``size`` bytes."""
    start = max(base, data_offset)
    step = int(chunk_seconds * WAV_SAMPLE_RATE) * frame_bytes
    whole = size - (size - data_offset) % frame_bytes
    if whole >= start + step:
        return start + step
    if finished and whole > base:
        return whole
    return None
