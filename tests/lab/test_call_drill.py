"""`samuctl drill --calls`: real calls through the edge on 127.0.0.1, the active PBX killed
mid-call, every recording read back from the store (Kamailio, rtpengine, SIPp, Swift)."""

import json

import pytest

from samu_lab.procs import missing_binaries
from samuctl.main import main

pytestmark = [
    pytest.mark.sip,
    pytest.mark.timeout(180),
    pytest.mark.skipif(
        bool(missing_binaries()),
        reason="kamailio, sipp or rtpengine not installed (make debs installs them)",
    ),
]


def test_pbx_killed_mid_call_every_recording_is_whole_in_the_store(capsys):
    code = main(
        ["drill", "--calls", "4", "--kill", "pbx", "--hold", "5", "--rate", "4", "-o", "json"]
    )
    out = json.loads(capsys.readouterr().out)
    calls, recordings = out["calls"], out["recordings"]
    assert out["kill"]["part"] == "pbx" and out["kill"]["afterSeconds"] is not None
    assert (calls["placed"], calls["answered"], calls["setupFailed"]) == (4, 4, 0)
    # answered on the PBX that died: the caller's BYE finds no PBX
    assert calls["answeredDropped"] >= 1
    assert recordings["expected"] == recordings["complete"] == 4, recordings["notComplete"]
    assert (recordings["lost"], recordings["maxAudioLostSeconds"]) == (0, 0)
    assert recordings["carriedSeconds"] == 4 * 5
    # both copies of every call are in the store (the dead PBX's too: its shipper finalised them)
    assert recordings["copiesInStore"] == {"edge": 4, "pbx": 4}
    assert code == 0
