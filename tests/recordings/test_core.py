"""The shipper's pure decisions, without any server: chunks, names, index, G.711, WAV."""

import io
import wave
from array import array

import pytest

from samu_recordings.core import alerts, chunking, g711, naming, pcap, rtpmeta, wav
from samu_recordings.core.config import ConfigError, from_env
from samu_recordings.core.index import IndexEntry, merge
from tests.recordings import audio, pcapgen


def test_g711_decodes_what_it_encodes():
    for sample in (0, 100, -100, 1000, -8000, 16000, -32000):
        decoded = g711.decode(bytes([g711.encode_ulaw(sample)]))[0]
        assert abs(decoded - sample) <= max(8, abs(sample) // 16)
    assert g711.ULAW[0xFF] == 0 and g711.ULAW[0x80] == 32124 and g711.ULAW[0x00] == -32124
    assert g711.ALAW[0xD5] == 8 and g711.ALAW[0x55] == -8


def test_pcap_takes_whole_records_only():
    data = pcapgen.call_pcap(1)
    recs = pcap.records(data[:24], data)
    assert len(recs) == 100 and recs[-1].end == len(data)
    cut = pcap.records(data[:24], data[: len(data) - 5])  # rtpengine mid-block
    assert len(cut) == 99
    assert {r.dst_port for r in recs} == {pcapgen.CALLER_PORT, pcapgen.CENTRE_PORT}
    with pytest.raises(pcap.PcapError):
        pcap.records(b"x" * 24, b"")


def cut_all(data: bytes, seconds: float, finished: bool) -> list[tuple[int, int]]:
    chunks, base = [], 0
    while (
        end := chunking.pcap_chunk_end(data[:24], data[base:], base, seconds, finished)
    ) is not None:
        chunks.append((base, end))
        base = end
    return chunks


def test_pcap_chunks_are_closed_at_most_two_seconds_and_cover_the_file():
    data = pcapgen.call_pcap(5.5)
    open_chunks = cut_all(data, 2.0, finished=False)
    assert len(open_chunks) == 2  # the last 1.5 s are still open
    closed = cut_all(data, 2.0, finished=True)
    assert b"".join(data[a:b] for a, b in closed) == data
    for a, b in closed:
        recs = pcap.records(data[:24], data[a:b], a)
        assert recs[-1].time - recs[0].time < 2.0
    # the same content always gives the same boundaries (a restart cuts the same chunks)
    assert cut_all(data, 2.0, finished=True) == closed
    assert len(cut_all(data, 1.0, finished=True)) == 6


def test_chunk_seconds_is_bounded():
    with pytest.raises(ValueError, match="SAMU_SHIPPER_CHUNK_SECONDS"):
        chunking.check_chunk_seconds(2.5)


def pbx_wav_header(data_size: int = 0) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(b"")
    head = bytearray(buf.getvalue())
    head[40:44] = data_size.to_bytes(4, "little")
    return bytes(head)


def test_wav_chunks_and_the_finished_header():
    head = pbx_wav_header()
    assert chunking.wav_data_offset(head) == 44
    size = 44 + 16000 * 3 + 100  # 3 s and a bit
    assert chunking.wav_chunk_end(size, 0, 44, 2, 2.0, False) == 44 + 32000
    assert chunking.wav_chunk_end(size, 44 + 32000, 44, 2, 2.0, False) is None
    assert chunking.wav_chunk_end(size, 44 + 32000, 44, 2, 2.0, True) == size
    assert not chunking.wav_finished(head, size)
    assert chunking.wav_finished(pbx_wav_header(size - 44), size)


def test_rtpengine_metadata_names_the_call_and_its_sides():
    text = (
        "/spool/pcaps/abc%40h-0123456789abcdef.pcap\n\n\nTimestamp started ms: 1.5\nSDP mode: offer\n"
        "m=audio 30000 RTP/AVP 0\nSDP mode: answer\nm=audio 30002 RTP/AVP 0\n\n"
        "call start time: x\n\ntenant:samu-30|caller:+33466000001|called:15|callid:abc@h\n"
    )
    meta = rtpmeta.parse(text)
    assert meta.caller_port == 30002 and meta.centre_port == 30000
    assert meta.fields == {
        "tenant": "samu-30",
        "caller": "+33466000001",
        "called": "15",
        "call_id": "abc@h",
    }


def test_object_names_and_retention():
    assert naming.container_name("samu-30") == "recordings-samu-30"
    assert naming.safe_call_id("a b/c@d") == "abc@d"  # as Asterisk's FILTER() names the PBX copy
    with pytest.raises(ValueError, match="call_id"):
        naming.safe_call_id("///")
    assert (
        naming.chunk_name("2026-12-04", "x@y", "edge-a", 7)
        == "calls/2026-12-04/x@y/edge-a/chunk-000007"
    )
    names = naming.index_names("2026-12-04", "x@y", "+33466000001", "edge-a")
    assert names == [
        "index/date/2026-12-04/x@y/edge-a.json",
        "index/call-id/x@y/edge-a.json",
        "index/caller/+33466000001/2026-12-04/x@y/edge-a.json",
    ]
    assert naming.delete_after(365) == 365 * 86400 and naming.delete_after(None) is None
    with pytest.raises(ValueError, match="retentionDays"):
        naming.delete_after(0)


def test_pcap_becomes_a_two_channel_wav_with_the_markers():
    data = wav.pcap_to_wav(pcapgen.call_pcap(4), caller_port=pcapgen.CALLER_PORT)
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getframerate(), w.getsampwidth()) == (2, 8000, 2)
        frames = array("h", w.readframes(w.getnframes()))
    assert audio.markers(frames[0::2]) == [0, 1, 2, 3]
    right = frames[1::2]
    assert audio.goertzel(right[:4000], audio.CENTRE_TONE) > 100 * audio.goertzel(
        right[:4000], 1000
    )


def test_index_entries_merge_the_copies():
    edge = IndexEntry("samu-30", "c@h", "+33466000001", "15", "2026-12-04T10:00:00", "2026-12-04T10:01:00",
                      "edge-a", "a", 30, "calls/x/edge-a.wav", 60.0)  # fmt: skip
    pbx = IndexEntry("samu-30", "c@h", None, None, "2026-12-04T10:00:02", "2026-12-04T10:01:01",
                     "pbx-b", "b", 30, "calls/x/pbx-b.wav", 59.0)  # fmt: skip
    assert IndexEntry.from_json(edge.to_json()) == edge
    call = merge([pbx, edge])
    assert call["caller"] == "+33466000001" and call["copies"] == ["edge-a", "pbx-b"]
    assert call["start"] == edge.start and call["end"] == pbx.end and call["zones"] == ["a", "b"]


def test_alert_conditions():
    assert alerts.backlog_alert(alerts.Health(45, 1000, 0.5, False))
    assert not alerts.backlog_alert(alerts.Health(45, 0, 0.5, False))
    assert not alerts.backlog_alert(alerts.Health(5, 1000, 0.5, False))
    assert alerts.disk_alert(alerts.Health(0, 0, 0.01, False))
    assert alerts.disk_alert(alerts.Health(0, 0, 0.5, True))
    assert not alerts.disk_alert(alerts.Health(0, 0, 0.5, False))


@pytest.mark.parametrize(
    ("env", "field"),
    [
        ({}, "SAMU_SHIPPER_SOURCE"),
        ({"SAMU_SHIPPER_SOURCE": "edge"}, "SAMU_SHIPPER_SPOOL"),
        (
            {
                "SAMU_SHIPPER_SOURCE": "pbx",
                "SAMU_SHIPPER_SPOOL": "/s",
                "SAMU_SHIPPER_STATE": "/t",
                "SAMU_SHIPPER_ZONE": "a",
            },
            "SAMU_SHIPPER_TENANT",
        ),
        (
            {
                "SAMU_SHIPPER_SOURCE": "edge",
                "SAMU_SHIPPER_SPOOL": "/s",
                "SAMU_SHIPPER_STATE": "/t",
                "SAMU_SHIPPER_ZONE": "a",
                "SAMU_SHIPPER_CHUNK_SECONDS": "3",
            },
            "SAMU_SHIPPER_CHUNK_SECONDS",
        ),
        (
            {
                "SAMU_SHIPPER_SOURCE": "edge",
                "SAMU_SHIPPER_SPOOL": "/s",
                "SAMU_SHIPPER_STATE": "/t",
                "SAMU_SHIPPER_ZONE": "a",
                "SAMU_SHIPPER_RETENTION_DAYS": "x",
            },
            "SAMU_SHIPPER_RETENTION_DAYS",
        ),
    ],
)
def test_config_errors_name_the_variable(env, field):
    with pytest.raises(ConfigError, match=field):
        from_env(env)


def test_a_quiet_tail_is_closed_after_a_chunk_length():
    data = pcapgen.call_pcap(0.5)  # half a second, then nothing (call on hold)
    last = pcap.records(data[:24], data)[-1].time
    assert chunking.pcap_chunk_end(data[:24], data, 0, 1.0, False, now=last + 0.3) is None
    assert chunking.pcap_chunk_end(data[:24], data, 0, 1.0, False, now=last + 1.0) == len(data)
    assert chunking.wav_chunk_end(44 + 8000, 0, 44, 2, 1.0, False, quiet=True) == 44 + 8000


def test_pending_since_is_the_oldest_audio_not_in_the_store():
    data = pcapgen.call_pcap(3, t0=1000.0)
    recs = pcap.records(data[:24], data)
    middle = recs[100]
    assert (
        chunking.pending_since("pcap", data[:24], data[middle.start :], middle.start, len(data), 0)
        == middle.time
    )
    assert chunking.pending_since("pcap", data[:24], b"", len(data), len(data), 0) is None
    head = pbx_wav_header()
    # 2 s of samples unshipped in a file last written at t=50: the oldest was written at 48
    assert chunking.pending_since("wav", head, b"", 44, 44 + 32000, 50.0) == 48.0
