"""Every call's audio goes through the edge's rtpengine both ways and is recorded there from
its first packet (real Kamailio + rtpengine + SIPp with G.711 audio on 127.0.0.1)."""

import re

from tests.edge.conftest import Lab, tenant_doc
from tests.media.lab import MediaCaller, add_audio_pbx
from tests.media.recordings import caller_markers, metadata_of, recording_of


def test_audio_flows_both_ways_and_is_recorded_from_the_first_second(lab: Lab) -> None:
    pbx = add_audio_pbx(lab, "samu-30", "a")
    add_audio_pbx(lab, "samu-30", "b")
    lab.start([tenant_doc("30")])
    caller = MediaCaller(lab).start(calls=1, hold_ms=4000)
    assert caller.wait() == 0, caller.log.read_text()[-2000:]
    [call] = caller.calls()
    assert call.pbx == "samu-30-a" and call.bye == "ok"
    low = lab.rtpengine.port_min
    assert low <= call.port < low + lab.rtpengine.ports, "the caller's media goes to rtpengine"

    recording = recording_of(lab.rtpengine, call.call_id)
    by_sender = recording.streams()
    caller_stream = by_sender[("127.0.0.1", caller.media_port)]
    # the PBX echoes what it gets: its stream comes back through rtpengine to the caller
    pbx_streams = [s for (_, port), s in by_sender.items() if port != caller.media_port]
    assert pbx_streams and len(pbx_streams[0]) > 150, f"no audio from the PBX: {list(by_sender)}"
    assert caller_markers(caller_stream)[:4] == [0, 1, 2, 3]
    relayed = lab.rtpengine.metric('rtpengine_packets_total{type="userspace"}')
    assert relayed is not None and relayed >= len(caller_stream) + len(pbx_streams[0]) - 10

    meta = metadata_of(lab.rtpengine, call.call_id)
    assert meta == {"tenant": "samu-30", "caller": "04661", "called": "15", "callid": call.call_id}
    assert pbx.proc is not None


def test_a_late_offer_call_is_anchored_and_recorded_too(lab: Lab) -> None:
    # the INVITE carries no SDP: the PBX offers in its 200, the caller answers in its ACK
    add_audio_pbx(lab, "samu-30", "a")
    add_audio_pbx(lab, "samu-30", "b")
    lab.start([tenant_doc("30")])
    caller = MediaCaller(lab, scenario="caller_late_offer.xml").start(calls=1, hold_ms=3000)
    assert caller.wait() == 0, caller.log.read_text()[-2000:]
    [call] = caller.calls()
    low = lab.rtpengine.port_min
    assert low <= call.port < low + lab.rtpengine.ports, "the PBX's offer names rtpengine"
    recording = recording_of(lab.rtpengine, call.call_id)
    by_sender = recording.streams()
    assert caller_markers(by_sender[("127.0.0.1", caller.media_port)])[:3] == [0, 1, 2]
    assert any(port != caller.media_port and len(s) > 100 for (_, port), s in by_sender.items())
    meta = metadata_of(lab.rtpengine, call.call_id)
    assert (meta["tenant"], meta["called"], meta["callid"]) == ("samu-30", "15", call.call_id)


def test_a_call_abandoned_in_the_queue_is_recorded_up_to_the_cancel(lab: Lab) -> None:
    # the PBX plays its greeting/queue as early media and never answers; the caller cancels
    add_audio_pbx(lab, "samu-30", "a", scenario="pbx_queue_early.xml")
    add_audio_pbx(lab, "samu-30", "b")
    lab.start([tenant_doc("30")])
    caller = MediaCaller(lab, scenario="caller_abandons.xml").start(calls=1, hold_ms=3000)
    assert caller.wait() == 0, caller.log.read_text()[-2000:]
    [(call_id, early)] = re.findall(r"^ABANDONED (\S+) (\d+)$", caller.log.read_text(), re.M)
    low = lab.rtpengine.port_min
    assert low <= int(early) < low + lab.rtpengine.ports, "the queue's media through rtpengine"
    # the recording is closed by the CANCEL (not rtpengine's timeout) and holds what the
    # caller said while waiting
    recording = recording_of(lab.rtpengine, call_id, timeout=5)
    heard = caller_markers(recording.streams()[("127.0.0.1", caller.media_port)])
    assert heard[:2] == [0, 1], heard
    assert metadata_of(lab.rtpengine, call_id)["callid"] == call_id
