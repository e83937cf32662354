"""When the store is slower than the recorders, every recording gets its turn: a look ships a
few chunks of each (the oldest audio first), never one backlog emptied before the next starts."""

import time

from samu_recordings.core import naming
from samu_recordings.core.config import from_env
from samu_recordings.metrics import ShipperMetrics
from samu_recordings.shipper import CHUNKS_PER_LOOK, Shipper
from samu_recordings.store import Store
from tests.recordings import pcapgen
from tests.recordings.harness import objects, shipper_env

CALLS = 5


def _spool_with_backlogs(spool, seconds: float) -> list[str]:
    """CALLS running edge calls, each with `seconds` of audio nobody shipped yet."""
    for sub in ("pcaps", "tmp", "metadata"):
        (spool / sub).mkdir(parents=True, exist_ok=True)
    call_ids = []
    for n in range(CALLS):
        stem = f"turns-{n}%40carrier-{n:016x}"
        # recorded up to now (a live call): closed chunks behind the tail
        data = pcapgen.call_pcap(seconds, t0=time.time() - seconds)
        (spool / "pcaps" / f"{stem}.pcap").write_bytes(data)
        (spool / "tmp" / f"rtpengine-meta-{stem}.tmp").write_text(
            f"{spool}/pcaps/{stem}.pcap\n\nSDP mode: offer\nm=audio {pcapgen.CENTRE_PORT} RTP/AVP 0\n"
        )
        call_ids.append(f"turns-{n}@carrier")
    return call_ids


def test_one_look_ships_some_of_every_recording_not_all_of_the_first(swift, tmp_path):
    call_ids = _spool_with_backlogs(tmp_path / "spool", 6.0)
    env = shipper_env(swift, tmp_path)
    shipper = Shipper(from_env(env), lambda: Store.from_env(env), ShipperMetrics("t", "t"))
    shipper.tick()  # one look, one recording after the other
    shipped = {
        cid: len([n for n in objects(swift, naming.INFLIGHT_CONTAINER, "calls/") if cid in n])
        for cid in call_ids
    }
    # 6 s recorded: 5 closed chunks each; one look takes a few of each, not all of one
    assert CHUNKS_PER_LOOK < 5
    assert all(1 <= count <= CHUNKS_PER_LOOK for count in shipped.values()), shipped
    for _ in range(6):  # the next looks ship the rest
        shipper.tick()
    after = [n for n in objects(swift, naming.INFLIGHT_CONTAINER, "calls/") if "turns-0@" in n]
    assert len(after) >= 5


def test_a_store_that_refuses_everything_is_asked_once_a_look_until_it_answers(swift, tmp_path):
    call_ids = _spool_with_backlogs(tmp_path / "spool", 3.0)
    env = shipper_env(swift, tmp_path)
    shipper = Shipper(from_env(env), lambda: Store.from_env(env), ShipperMetrics("t", "t"))
    failures = shipper.metrics.upload_failures
    swift.stop_proxy()
    try:
        shipper.tick()  # every recording tries, and fails
        assert failures._value.get() == CALLS
        shipper.tick()
        shipper.tick()  # then one question a look, not one per recording
        assert failures._value.get() == CALLS + 2
    finally:
        swift.start_proxy()
    shipper.tick()  # it answers: every recording ships again
    shipper.tick()
    for cid in call_ids:
        assert [n for n in objects(swift, naming.INFLIGHT_CONTAINER, "calls/") if cid in n]
