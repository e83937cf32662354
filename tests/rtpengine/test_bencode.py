"""bencode as rtpengine's ng protocol speaks it (the shared client's codec)."""

import pytest

from samu_rtpengine import bencode


def test_bencode_round_trip_and_unsorted_replies():
    assert bencode.decode(bencode.encode({"b": 1, "a": ["x", 2]})) == {"a": ["x", 2], "b": 1}
    # rtpengine's replies are not key-sorted: they must still decode
    assert bencode.decode(b"d6:result2:ok3:abci1ee") == {"result": "ok", "abc": 1}
    with pytest.raises(ValueError):
        bencode.decode(b"d6:result")
