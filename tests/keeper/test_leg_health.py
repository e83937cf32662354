"""The keeper's verdict on a PBX leg: which signal kills it, and bad observations named."""

import pytest

from samu_keeper.core.leg_health import SignalError, judge


def test_a_healthy_leg_is_alive():
    verdict = judge({"lastInDialogStatus": 200, "mediaSilentSeconds": 0.2, "probeFailures": 1})
    assert not verdict.dead
    assert verdict.reason == "alive"


@pytest.mark.parametrize("status", [408, 481])
def test_an_in_dialog_408_or_481_kills_the_leg(status):
    verdict = judge({"lastInDialogStatus": status})
    assert verdict.dead
    assert verdict.reason == "response"
    assert str(status) in verdict.detail


def test_other_in_dialog_errors_do_not_kill_the_leg():
    # a 488 to a re-INVITE or a 500 to an INFO leaves the dialog standing
    assert not judge({"lastInDialogStatus": 488}).dead
    assert not judge({"lastInDialogStatus": 500}).dead


def test_a_transport_error_wins_over_every_other_signal():
    verdict = judge({"transportError": "ECONNREFUSED", "lastInDialogStatus": 481})
    assert (verdict.dead, verdict.reason) == (True, "transport")


def test_media_silence_kills_a_frozen_pbx_at_the_threshold_only():
    assert not judge({"mediaSilentSeconds": 0.99}).dead
    verdict = judge({"mediaSilentSeconds": 1.0})
    assert (verdict.dead, verdict.reason) == (True, "media")
    assert not judge({"mediaSilentSeconds": 1.4}, media_silence_s=1.5).dead


def test_probe_failures_kill_the_leg_only_at_their_threshold():
    assert not judge({"probeFailures": 2}).dead
    assert judge({"probeFailures": 3}).reason == "probe"


@pytest.mark.parametrize(
    ("observation", "field"),
    [
        ({"lastInDialogStatus": "481"}, "lastInDialogStatus"),
        ({"lastInDialogStatus": 42}, "lastInDialogStatus"),
        ({"mediaSilentSeconds": -1}, "mediaSilentSeconds"),
        ({"probeFailures": True}, "probeFailures"),
    ],
)
def test_a_bad_observation_names_its_field(observation, field):
    with pytest.raises(SignalError, match=field):
        judge(observation)
