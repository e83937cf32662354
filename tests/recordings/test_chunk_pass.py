"""The shipper cuts a recording's chunks in one pass over its record headers: the same
boundaries as cutting them one by one, and the same record positions and times as parsing
every packet."""

import pytest

from samu_recordings.core import chunking, pcap
from tests.recordings import pcapgen
from tests.recordings.test_core import cut_all


def test_spans_are_the_records_positions_and_times():
    data = pcapgen.call_pcap(3.3)
    for base in (0, 24 + 3 * 216):
        spans = pcap.spans(data[:24], data[base:], base)
        recs = pcap.records(data[:24], data[base:], base)
        assert [(s.start, s.end, s.time) for s in spans] == [(r.start, r.end, r.time) for r in recs]
    cut = pcap.spans(data[:24], data[: len(data) - 5])  # rtpengine mid-block: whole ones only
    assert len(cut) == len(pcap.records(data[:24], data)) - 1


@pytest.mark.parametrize("seconds", [0.5, 1.0, 2.0])
@pytest.mark.parametrize("finished", [False, True])
def test_one_pass_cuts_the_chunks_one_by_one_cutting_gives(seconds, finished):
    data = pcapgen.call_pcap(5.5)
    spans = pcap.spans(data[:24], data)
    ends = chunking.pcap_chunk_ends(spans, seconds, finished)
    assert [end for _start, end in cut_all(data, seconds, finished)] == ends
    assert ends, "a 5.5 s recording has closed chunks"


def test_a_quiet_tail_closes_in_one_pass_too():
    data = pcapgen.call_pcap(1.5)
    spans = pcap.spans(data[:24], data)
    last = spans[-1].time
    assert chunking.pcap_chunk_ends(spans, 1.0, False, now=last + 0.3)[-1] < len(data)
    assert chunking.pcap_chunk_ends(spans, 1.0, False, now=last + 1.0)[-1] == len(data)
