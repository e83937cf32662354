"""Playable WAVs from recordings: an rtpengine pcap (G.711, caller and centre as the left and
right channels) or a PBX WAV (its samples under a header with the right sizes)."""

import io
import wave
from array import array

from samu_recordings.core import g711, pcap
from samu_recordings.core.chunking import WAV_SAMPLE_RATE, wav_data_offset

CALLER, CENTRE = 0, 1
#: How far (samples) a packet's RTP time may place it from its arrival before the arrival wins:
#: 10 s of jitter buffer is far beyond any real network's.
MAX_TIMESTAMP_DRIFT = 10 * WAV_SAMPLE_RATE


def _channel_of(rec: pcap.Record, caller_port: int | None, first_ssrc: int) -> int:
    if caller_port is not None:
        return CALLER if rec.dst_port == caller_port else CENTRE
    return CALLER if rec.ssrc == first_ssrc else CENTRE


def pcap_to_wav(data: bytes, caller_port: int | None = None) -> bytes:
    """Decodes every G.711 packet of a pcap into a 2-channel 8 kHz 16-bit WAV.

    A packet lands at the sample its stream's RTP timestamp says, counted from the moment the
    stream's first packet arrived: jitter does not shift audio, a gap stays silent.
    """
    recs = [r for r in pcap.records(data[: pcap.GLOBAL_HEADER], data) if r.payload_type in (0, 8)]
    if not recs:
        return stereo_wav(array("h"), array("h"))
    t0 = recs[0].time
    first: dict[int, tuple[float, int]] = {}
    channels = (array("h"), array("h"))
    for rec in recs:
        arrival, ts0 = first.setdefault(rec.ssrc, (rec.time, rec.timestamp))
        at = round((arrival - t0) * WAV_SAMPLE_RATE) + _ts_delta(rec.timestamp, ts0)
        heard_at = round((rec.time - t0) * WAV_SAMPLE_RATE)
        if abs(at - heard_at) > MAX_TIMESTAMP_DRIFT:
            # a packet from before the stream's first one (reordered), or a timestamp jump
            # (a new source under the same SSRC): its arrival places it, never 2^32 samples
            # of silence
            at = heard_at
        samples = g711.decode(rec.payload, rec.payload_type)
        out = channels[_channel_of(rec, caller_port, recs[0].ssrc)]
        if len(out) < at:
            out.extend(array("h", bytes(2 * (at - len(out)))))
        out[at : at + len(samples)] = samples
    return stereo_wav(*channels)


def _ts_delta(timestamp: int, first: int) -> int:
    """RTP timestamps are 32-bit and wrap: the signed difference (RFC 3550 serial arithmetic)."""
    return ((timestamp - first + 0x80000000) & 0xFFFFFFFF) - 0x80000000


def stereo_wav(left: array, right: array) -> bytes:
    n = max(len(left), len(right))
    frames = array("h", bytes(4 * n))
    frames[0 : 2 * len(left) : 2] = left
    frames[1 : 2 * len(right) : 2] = right
    return _wav(frames.tobytes(), 2)


def mono_wav(samples: bytes) -> bytes:
    return _wav(samples[: len(samples) - len(samples) % 2], 1)


def pbx_wav(data: bytes) -> bytes:
    """A PBX recording (possibly cut short, header sizes unset) as a playable WAV."""
    return mono_wav(data[wav_data_offset(data[:512]) :])


def _wav(frames: bytes, channels: int) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(WAV_SAMPLE_RATE)
        out.writeframes(frames)
    return buf.getvalue()
