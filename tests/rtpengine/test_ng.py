"""The ng client against a real rtpengine on 127.0.0.1: one command, and many at once."""

import pytest

from samu_rtpengine.ng import NgClient, NgError
from tests.edge.harness import Rtpengine, missing_binaries

pytestmark = pytest.mark.sip

SDP = (
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
)


@pytest.fixture
def rtpengine(tmp_path):
    if "rtpengine" in missing_binaries():
        pytest.skip("rtpengine is not installed (make debs)")
    engine = Rtpengine(tmp_path, ports=40).start()
    try:
        yield engine
    finally:
        engine.stop()


def test_many_commands_in_one_round_trip_each_reply_in_its_place(rtpengine):
    ng = NgClient("127.0.0.1", rtpengine.ng_port, timeout=1.0, retries=0)
    for i in range(3):
        ng.command(
            "offer", **{"call-id": f"c{i}", "from-tag": "a", "sdp": SDP.format(port=40000 + 2 * i)}
        )
    replies = ng.many("query", [{"call-id": "c0"}, {"call-id": "nobody"}, {"call-id": "c2"}])
    assert [type(r) for r in replies] == [dict, NgError, dict]
    assert "a" in replies[0]["tags"] and "a" in replies[2]["tags"]
    assert "nobody" not in str(replies[0]) and "Unknown call-id" in str(replies[1])
