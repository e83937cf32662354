"""Edge recordings end to end: a real rtpengine records calls whose audio carries second
markers, the shipper ships them to a real Swift, and the store must hold every second."""

import os
import time

import pytest

from samu_recordings.core import alerts, naming
from samu_recordings.core.index import IndexEntry
from samu_recordings.store import Store
from tests.recordings import audio
from tests.recordings.harness import (
    ShipperProcess,
    ShipperThread,
    objects,
    read_wav,
    rtp_sequences,
    shipper_env,
    wait_for,
)
from tests.recordings.rtplab import Call

TENANT = "recordings-samu-30"
#: Real rtpengine/Swift round trips on a shared machine: more room than the default 120 s.
pytestmark = pytest.mark.timeout(300)
COPY = "edge-fr-par-1a"
#: How long the store stays down in the test; the 60 s drill is bench_shipper.py --store-down 60.
STORE_DOWN_SECONDS = float(os.environ.get("SAMU_TEST_STORE_DOWN_SECONDS", "6"))


def index_entry(swift, call_id: str, container: str = TENANT) -> IndexEntry:
    store = Store.from_env(swift.env)
    name = f"index/call-id/{naming.safe_call_id(call_id)}/{COPY}.json"
    return IndexEntry.from_json(store.get(container, name))


def wait_recorded(swift, call_id: str, container: str = TENANT, timeout: float = 90) -> IndexEntry:
    prefix = f"index/call-id/{naming.safe_call_id(call_id)}/"
    wait_for(f"the index entry of {call_id}", lambda: objects(swift, container, prefix), timeout)
    return index_entry(swift, call_id, container)


def caller_markers(swift, entry: IndexEntry, container: str = TENANT) -> list:
    channels, frames = read_wav(Store.from_env(swift.env).get(container, entry.wav))
    assert channels == 2
    return audio.markers(frames[0::2])


def assert_chunks_whole(swift, entry: IndexEntry, container: str = TENANT) -> bytes:
    """The chunks, in order, give back rtpengine's pcap: no gap, no packet twice."""
    store = Store.from_env(swift.env)
    names = store.list(
        container, f"{naming.call_prefix(entry.start[:10], entry.call_id)}{COPY}/chunk-"
    )
    assert len(names) == entry.chunks
    data = b"".join(store.get(container, n) for n in names)
    for ssrc, seqs in rtp_sequences(data).items():
        assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), f"gap or duplicate in {ssrc:x}"
    return data


def test_a_call_is_in_the_store_whole_from_its_first_second(swift, rtpengine, tmp_path):
    env = shipper_env(swift, tmp_path)
    with ShipperThread(env):
        call = Call(rtpengine, "whole-1@carrier").setup()
        call.play(5)
        call.hang_up()
        entry = wait_recorded(swift, call.call_id)
    assert caller_markers(swift, entry) == [0, 1, 2, 3, 4]
    store = Store.from_env(swift.env)
    _, frames = read_wav(store.get(TENANT, entry.wav))
    centre = frames[1::2][8000:12000]
    assert audio.goertzel(centre, audio.CENTRE_TONE) > 100 * audio.goertzel(
        centre, audio.marker_hz(1)
    )
    assert (entry.tenant, entry.caller, entry.called) == ("samu-30", "+33466000001", "15")
    assert entry.chunks >= 5  # 1 s chunks by default
    data = assert_chunks_whole(swift, entry)
    assert sum(len(s) for s in rtp_sequences(data).values()) == 2 * call.sent
    # found by date and by caller too
    assert objects(swift, TENANT, f"index/date/{entry.start[:10]}/whole-1@carrier/")
    assert objects(swift, TENANT, "index/caller/+33466000001/")
    # retention: every object expires after the tenant's retention, not before
    delete_at = int(store.head(TENANT, entry.wav)["x-delete-at"])
    assert delete_at > time.time() + 364 * 86400
    # nothing left on the edge's disk, nothing in flight
    assert not list((tmp_path / "spool" / "pcaps").glob("*"))
    assert not list((tmp_path / "state").glob("*.json"))
    assert not objects(
        swift, naming.INFLIGHT_CONTAINER, naming.call_prefix(entry.start[:10], call.call_id)
    )


def test_rtpengine_killed_mid_call_the_store_holds_the_call_up_to_the_kill(
    swift, rtpengine, tmp_path
):
    env = shipper_env(swift, tmp_path)
    with ShipperThread(env):
        call = Call(rtpengine, "killed-edge-1@carrier").setup()
        call.play(5.3)
        rtpengine.kill()  # SIGKILL: metadata never finalised, pcap cut mid-block
        seconds_sent = call.sent // 50
        call.close()
        # rtpengine never wrote the tenant: the orphan is finalised where its chunks are
        entry = wait_recorded(swift, call.call_id, naming.INFLIGHT_CONTAINER)
    heard = caller_markers(swift, entry, naming.INFLIGHT_CONTAINER)
    assert heard[: seconds_sent - 2] == list(range(seconds_sent - 2)), heard
    assert_chunks_whole(swift, entry, naming.INFLIGHT_CONTAINER)
    # the orphan's metadata was finalised and the local files removed once shipped
    assert not list((tmp_path / "spool" / "tmp").glob("*"))
    assert not list((tmp_path / "spool" / "pcaps").glob("*"))


def test_shipper_killed_mid_upload_resumes_without_gap_or_duplicate(swift, rtpengine, tmp_path):
    env = shipper_env(swift, tmp_path)
    first = ShipperProcess(env, tmp_path / "shipper1.log").start()
    second = ShipperProcess(env, tmp_path / "shipper2.log")
    try:
        call = Call(rtpengine, "killed-shipper-1@carrier").setup()
        call.play_in_background(8)
        wait_for(
            "chunks in flight",
            lambda: (
                len(
                    [
                        n
                        for n in objects(swift, naming.INFLIGHT_CONTAINER, "calls/")
                        if call.call_id in n
                    ]
                )
                >= 2
            ),
            60,
        )
        first.kill()
        time.sleep(1.5)  # the call goes on while no shipper runs
        second.start()
        call.wait()
        call.hang_up()
        entry = wait_recorded(swift, call.call_id)
        wait_for(
            "the backlog to drain", lambda: second.metrics()["samu_recordings_backlog_bytes"] == 0
        )
        after_restart = second.metrics()
    finally:
        first.kill()
        second.stop()
    # the journal let the second shipper resume: it did not ship the call again from its start
    shipped_again = after_restart["samu_recordings_chunks_shipped_total"]
    assert 0 < shipped_again < entry.chunks
    assert caller_markers(swift, entry) == list(range(8))
    data = assert_chunks_whole(swift, entry)
    assert sum(len(s) for s in rtp_sequences(data).values()) == 2 * call.sent


def test_one_object_server_down_recordings_still_ship(swift, rtpengine, tmp_path):
    swift.stop_server("object1")
    try:
        with ShipperThread(shipper_env(swift, tmp_path)):
            call = Call(rtpengine, "degraded-store-1@carrier").setup()
            call.play(3)
            call.hang_up()
            entry = wait_recorded(swift, call.call_id)
        assert caller_markers(swift, entry) == [0, 1, 2]
    finally:
        swift.start_server("object1")
        swift.wait_started("object1", 30)


def test_store_down_nothing_lost_backlog_drains_alert_meanwhile(swift, rtpengine, tmp_path):
    env = shipper_env(swift, tmp_path)
    with ShipperThread(env) as shipper:
        call = Call(rtpengine, "store-down-1@carrier").setup()
        call.play_in_background(STORE_DOWN_SECONDS + 4)
        time.sleep(1.0)
        swift.stop_proxy()
        down_since = len(shipper.healths)
        try:
            time.sleep(STORE_DOWN_SECONDS)
            during = shipper.healths[down_since:]
        finally:
            swift.start_proxy()
        call.wait()
        call.hang_up()
        entry = wait_recorded(swift, call.call_id)
        wait_for("the backlog to drain", lambda: shipper.healths[-1].backlog_bytes == 0, 60)
    threshold = STORE_DOWN_SECONDS / 2
    assert any(alerts.backlog_alert(h, threshold) for h in during)
    assert shipper.shipper.metrics.upload_failures._value.get() > 0
    # every second (the markers start again after 37 s: a 60 s outage's call is longer)
    seconds = int(STORE_DOWN_SECONDS + 4)
    assert caller_markers(swift, entry) == [k % audio.MARKERS for k in range(seconds)]
    assert_chunks_whole(swift, entry)
