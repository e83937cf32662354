"""samuctl recordings list|get against a real Swift holding recordings the shipper shipped."""

import json

import pytest

from samu_recordings.core import naming
from samu_recordings.store import Store
from samuctl.main import main
from tests.recordings import audio, pcapgen
from tests.recordings.harness import ShipperThread, objects, read_wav, shipper_env, wait_for

TENANT = "samu-30"
CONTAINER = naming.container_name(TENANT)
DAY = "2027-01-15"
T0 = 1_800_000_000.0  # 2027-01-15 08:00 UTC


def closed_call(spool, call_id: str, caller: str, seconds: float = 3, t0: float = T0) -> None:
    """An rtpengine spool entry of a finished call (pcap + metadata moved to metadata/)."""
    stem = f"{call_id.replace('@', '%40')}-0123456789abcdef"
    (spool / "pcaps").mkdir(parents=True, exist_ok=True)
    (spool / "metadata").mkdir(parents=True, exist_ok=True)
    (spool / "pcaps" / f"{stem}.pcap").write_bytes(pcapgen.call_pcap(seconds, t0))
    (spool / "metadata" / f"rtpengine-meta-{stem}.txt").write_text(
        f"{spool}/pcaps/{stem}.pcap\n\nSDP mode: offer\nm=audio {pcapgen.CENTRE_PORT} RTP/AVP 0\n"
        f"SDP mode: answer\nm=audio {pcapgen.CALLER_PORT} RTP/AVP 0\n\n"
        f"tenant:{TENANT}|caller:{caller}|called:15|callid:{call_id}\n"
    )


@pytest.fixture(scope="module")
def shipped(swift, tmp_path_factory):
    """Three calls on one day from two callers, shipped by the real shipper."""
    root = tmp_path_factory.mktemp("samuctl")
    spool = root / "spool"
    closed_call(spool, "c1@carrier", "+33466000001", 3, T0)
    closed_call(spool, "c2@carrier", "+33466000001", 2, T0 + 600)
    closed_call(spool, "c3@carrier", "+33466000002", 2, T0 + 1200)
    with ShipperThread(shipper_env(swift, root)):
        wait_for(
            "three calls indexed", lambda: len(objects(swift, CONTAINER, f"index/date/{DAY}/")) == 3
        )
    return swift


@pytest.fixture
def store_env(shipped, monkeypatch):
    for key, value in shipped.env.items():
        monkeypatch.setenv(key, value)
    for key in ("OS_AUTH_URL", "OS_APPLICATION_CREDENTIAL_ID"):
        monkeypatch.delenv(key, raising=False)
    return shipped


def run_json(capsys, *argv) -> tuple[int, dict]:
    code = main(list(argv))
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip().startswith("{") else {}


def test_list_by_date_caller_and_call_id(store_env, capsys):
    code, data = run_json(
        capsys, "recordings", "list", "--tenant", TENANT, "--date", DAY, "-o", "json"
    )
    assert code == 0
    assert [c["callId"] for c in data["calls"]] == ["c3@carrier", "c2@carrier", "c1@carrier"]
    assert data["calls"][2]["copies"] == ["edge-fr-par-1a"] and data["calls"][2]["called"] == "15"
    _, data = run_json(
        capsys, "recordings", "list", "--tenant", TENANT, "--caller", "+33466000001", "-o", "json"
    )
    assert sorted(c["callId"] for c in data["calls"]) == ["c1@carrier", "c2@carrier"]
    _, data = run_json(
        capsys, "recordings", "list", "--tenant", TENANT, "--call-id", "c3@carrier", "-o", "json"
    )
    assert [c["caller"] for c in data["calls"]] == ["+33466000002"]
    assert main(["recordings", "list", "--tenant", TENANT, "--date", DAY]) == 0
    assert "c1@carrier" in capsys.readouterr().out


def test_get_writes_the_playable_wav(store_env, capsys, tmp_path):
    out = tmp_path / "c1.wav"
    code, data = run_json(capsys, "recordings", "get", "--tenant", TENANT, "--call-id", "c1@carrier",
                          "--out", str(out), "-o", "json")  # fmt: skip
    assert code == 0 and data["from"] == "wav" and data["copy"] == "edge-fr-par-1a"
    channels, frames = read_wav(out.read_bytes())
    assert channels == 2 and audio.markers(frames[0::2]) == [0, 1, 2]


def test_get_assembles_from_chunks_when_the_wav_is_missing(store_env, capsys, tmp_path):
    store = Store.from_env(store_env.env)
    [entry_wav] = [
        n for n in store.list(CONTAINER, f"calls/{DAY}/c2@carrier/") if n.endswith(".wav")
    ]
    store.connection.delete_object(CONTAINER, entry_wav)
    out = tmp_path / "c2.wav"
    code, data = run_json(capsys, "recordings", "get", "--tenant", TENANT, "--call-id", "c2@carrier",
                          "--date", DAY, "--out", str(out), "-o", "json")  # fmt: skip
    assert code == 0 and data["from"] == "chunks"
    channels, frames = read_wav(out.read_bytes())
    assert channels == 2 and audio.markers(frames[0::2]) == [0, 1]


def test_get_finds_the_chunks_of_a_call_whose_edge_died(store_env, capsys, tmp_path):
    """No index, no WAV, the tenant never known: only chunks in flight, found by Call-ID."""
    store = Store.from_env(store_env.env)
    store.ensure_container(name=naming.INFLIGHT_CONTAINER)
    data = pcapgen.call_pcap(2, T0)
    half = len(pcapgen.global_header()) + 100 * (len(data) - 24) // 200
    for seq, part in enumerate((data[:half], data[half:])):
        store.put(
            naming.INFLIGHT_CONTAINER,
            naming.chunk_name(DAY, "dead@edge", "edge-fr-par-1b", seq),
            part,
        )
    out = tmp_path / "dead.wav"
    code = main(["recordings", "get", "--tenant", TENANT, "--call-id", "dead@edge", "--date", DAY,
                 "--out", str(out)])  # fmt: skip
    assert code == 0 and "from chunks" in capsys.readouterr().out
    _, frames = read_wav(out.read_bytes())
    assert audio.markers(frames[0::2]) == [0, 1]


def test_clear_errors(store_env, capsys, monkeypatch, tmp_path):
    assert (
        main(
            [
                "recordings",
                "get",
                "--tenant",
                TENANT,
                "--call-id",
                "nope@x",
                "--out",
                str(tmp_path / "x"),
            ]
        )
        == 1
    )
    assert "no recording of tenant samu-30 with Call-ID nope@x" in capsys.readouterr().err
    assert main(["recordings", "list", "--tenant", TENANT, "--date", "15/01/2027"]) == 1
    assert "--date" in capsys.readouterr().err
    monkeypatch.setenv("ST_AUTH", "http://127.0.0.1:9/auth/v1.0")
    assert main(["recordings", "list", "--tenant", TENANT, "--date", DAY]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: no store reachable") and len(err.strip().splitlines()) == 1
    monkeypatch.delenv("ST_AUTH")
    assert main(["recordings", "list", "--tenant", TENANT]) == 1
    assert "OS_AUTH_URL" in capsys.readouterr().err


def test_help(capsys):
    with pytest.raises(SystemExit) as done:
        main(["recordings", "get", "--help"])
    assert done.value.code == 0 and "--call-id" in capsys.readouterr().out
