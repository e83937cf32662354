"""The keeper's settings: environment or flags, each refusal naming the variable and the fix."""

import pytest

from samu_keeper.__main__ import main
from samu_keeper.settings import SettingsError, from_env

BASE = {
    "SAMU_KEEPER_KEEPER_ID": "keeper-a",
    "SAMU_KEEPER_LISTEN": "127.0.0.1:5070",
    "SAMU_KEEPER_RTPENGINE": "127.0.0.1:2223",
    "SAMU_KEEPER_REDIS_URL": "redis://127.0.0.1:6379/0",
}


def test_defaults_and_the_advertised_address():
    settings = from_env(BASE)
    assert settings.listen == ("127.0.0.1", 5070) and settings.advertise == "127.0.0.1"
    assert settings.media_silence_s == 1.0 and settings.poll_s == 0.2 and settings.directions == ()
    both = from_env({**BASE, "SAMU_KEEPER_DIRECTIONS": "carrier, internal"})
    assert both.directions == ("carrier", "internal")


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"SAMU_KEEPER_RTPENGINE": ""}, "SAMU_KEEPER_RTPENGINE is required"),
        (
            {"SAMU_KEEPER_RTPENGINE": "localhost"},
            "SAMU_KEEPER_RTPENGINE='localhost': must be <host>:<port>",
        ),
        ({"SAMU_KEEPER_LISTEN": "0.0.0.0:5070"}, "SAMU_KEEPER_ADVERTISE is required"),
        ({"SAMU_KEEPER_REDIS_URL": "127.0.0.1:6379"}, "SAMU_KEEPER_REDIS_URL='127.0.0.1:6379'"),
        ({"SAMU_KEEPER_KEEPER_ID": "Keeper_A"}, "SAMU_KEEPER_KEEPER_ID='keeper_a'"),
        ({"SAMU_KEEPER_MEDIA_SILENCE_S": "soon"}, "SAMU_KEEPER_MEDIA_SILENCE_S='soon'"),
        ({"SAMU_KEEPER_POLL_S": "0"}, "between 0.05 and 5"),
        ({"SAMU_KEEPER_DIRECTIONS": "carrier"}, "two rtpengine interface names"),
    ],
)
def test_a_bad_setting_names_the_variable_and_the_fix(change, named):
    with pytest.raises(SettingsError, match=named.replace("(", r"\(")):
        from_env({**BASE, **change})


def test_the_entry_point_refuses_a_bad_setting_with_exit_2(capsys, monkeypatch):
    for name in list(BASE):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("SAMU_KEEPER_RTPENGINE", raising=False)
    args = ["--keeper-id", "keeper-a", "--listen", "127.0.0.1:5070", "--redis-url", "redis://r"]
    assert main(args) == 2
    assert "SAMU_KEEPER_RTPENGINE is required" in capsys.readouterr().err
