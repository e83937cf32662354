"""The PBX copy: a growing WAV written as MixMonitor does, shipped by the same shipper; and a
full recording disk: the alarm rises, nothing written is lost."""

import errno
import subprocess

import pytest

from samu_recordings.core import alerts, naming
from samu_recordings.core.index import IndexEntry
from samu_recordings.store import Store
from tests.recordings import audio
from tests.recordings.harness import ShipperThread, objects, read_wav, shipper_env, wait_for
from tests.recordings.pbxstandin import MixMonitorStandIn

TENANT = "recordings-samu-30"
#: Real rtpengine/Swift round trips on a shared machine: more room than the default 120 s.
pytestmark = pytest.mark.timeout(300)
COPY = "pbx-fr-par-1a"


def wait_recorded(swift, call_id: str) -> IndexEntry:
    name = f"index/call-id/{call_id}/{COPY}.json"
    wait_for(f"the PBX index entry of {call_id}", lambda: objects(swift, TENANT, name), 90)
    return IndexEntry.from_json(Store.from_env(swift.env).get(TENANT, name))


def test_pbx_wav_is_shipped_in_chunks_and_whole(swift, tmp_path):
    env = shipper_env(swift, tmp_path, source="pbx")
    with ShipperThread(env):
        pbx = MixMonitorStandIn(tmp_path / "spool", "pbx-call-1@carrier")
        pbx.play(2.5)
        # chunks reach the store while the call lasts (edge dead: this copy holds the rest)
        wait_for("a chunk of the running call", lambda: objects(swift, TENANT, "calls/"), 60)
        pbx.play(1.5)
        pbx.close()
        entry = wait_recorded(swift, "pbx-call-1@carrier")
    store = Store.from_env(swift.env)
    channels, samples = read_wav(store.get(TENANT, entry.wav))
    assert channels == 1 and len(samples) == pbx.frames
    assert audio.markers(samples) == [0, 1, 2, 3]
    prefix = f"{naming.call_prefix(entry.start[:10], entry.call_id)}{COPY}/chunk-"
    chunks = [store.get(TENANT, n) for n in store.list(TENANT, prefix)]
    assert len(chunks) == entry.chunks >= 4
    assert all(len(c) <= 44 + 2 * 8000 * 2 for c in chunks)  # at most 2 s each
    assert sum(len(c) for c in chunks) == 44 + 2 * pbx.frames  # the whole file, once
    assert not list((tmp_path / "spool").glob("*.wav"))


@pytest.fixture
def small_volume(tmp_path):
    volume = tmp_path / "vol"
    volume.mkdir()
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(volume)], check=True,
                       capture_output=True)  # fmt: skip
    except (subprocess.CalledProcessError, FileNotFoundError) as err:
        pytest.skip(f"cannot mount a small tmpfs to fill (needs root): {err}")
    try:
        yield volume
    finally:
        subprocess.run(["umount", "-l", str(volume)], check=False)


def test_recording_disk_full_raises_the_alarm_and_keeps_what_it_has(swift, small_volume):
    env = shipper_env(swift, small_volume, source="pbx", SAMU_SHIPPER_IDLE_SECONDS="2")
    pbx = MixMonitorStandIn(small_volume / "spool", "disk-full-1@carrier")
    with pytest.raises(OSError) as full:  # the recorder writes until the disk is full
        while True:
            pbx.write_packet()
    assert full.value.errno == errno.ENOSPC
    written = (small_volume / "spool" / "disk-full-1@carrier.wav").stat().st_size
    with ShipperThread(env) as shipper:
        wait_for("the disk alarm", lambda: any(alerts.disk_alert(h) for h in shipper.healths), 30)
        entry = wait_recorded(swift, "disk-full-1@carrier")
    _, samples = read_wav(Store.from_env(swift.env).get(TENANT, entry.wav))
    assert 2 * len(samples) == written - 44  # every sample that reached the disk
    assert audio.markers(samples)[:3] == [0, 1, 2]
    assert not list((small_volume / "spool").glob("*.wav"))  # shipped, then the space freed
