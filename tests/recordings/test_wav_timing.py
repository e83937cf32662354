"""The edge's WAV places each packet by its RTP time, and never lets a stray timestamp (a packet
older than the stream's first, a jump) turn into gigabytes of silence."""

import struct

from samu_recordings.core import wav
from tests.recordings import audio, pcapgen
from tests.recordings.harness import read_wav

T0 = 1_800_000_000.0


def _record(when: float, seq: int, timestamp: int, ssrc: int = 0x1111) -> bytes:
    rec = pcapgen.record(when, pcapgen.CALLER_PORT, ssrc, seq, audio.caller_packet(seq))
    # pcapgen stamps timestamp = seq * 160: set the one wanted (RTP header at 16+20+8+4)
    at = 16 + 20 + 8 + 4
    return rec[:at] + struct.pack("!I", timestamp & 0xFFFFFFFF) + rec[at + 4 :]


def test_a_packet_older_than_the_streams_first_is_placed_by_its_arrival():
    data = pcapgen.global_header() + b"".join(
        [_record(T0, 1, 160), _record(T0 + 0.001, 0, 0)]  # reordered: seq 0 arrives second
        + [_record(T0 + 0.02 * i, i, 160 * i) for i in range(2, 100)]
    )
    channels, frames = read_wav(wav.pcap_to_wav(data))
    assert channels == 2
    assert len(frames) // 2 < 2 * 8000, "about 2 s of audio, not 2^32 samples"


def test_timestamps_that_wrap_keep_their_place():
    start = 0xFFFFFFFF - 160 * 10  # wraps after 10 packets
    data = pcapgen.global_header() + b"".join(
        _record(T0 + 0.02 * i, i, start + 160 * i) for i in range(100)
    )
    _, frames = read_wav(wav.pcap_to_wav(data))
    assert len(frames) // 2 == 100 * 160  # 2 s, contiguous
