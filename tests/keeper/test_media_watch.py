"""The PBX leg's audio as rtpengine's counters show it, poll after poll (pure)."""

from samu_keeper.core.media_watch import Watch, gap_seconds, observe, packets_from, silent_seconds

QUERY = {
    "tags": {
        "caller": {"medias": [{"streams": [{"flags": ["RTP"], "stats": {"packets": 500}}]}]},
        "keeper": {
            "medias": [
                {
                    "streams": [
                        {"flags": ["RTP", "filled"], "stats": {"packets": 120}},
                        {"flags": ["RTCP"], "stats": {"packets": 7}},
                    ]
                }
            ]
        },
    }
}


def test_the_pbx_sides_rtp_packets_are_counted_without_rtcp():
    assert packets_from(QUERY, "keeper") == 120
    assert packets_from(QUERY, "nobody") is None and packets_from({}, "keeper") is None


def test_a_leg_is_silent_from_its_last_growing_count():
    watch = Watch(since=10.0)
    watch = observe(watch, 50, 10.2)  # already sending at the first read
    watch = observe(watch, 60, 10.4)
    watch = observe(watch, 60, 10.6)
    watch = observe(watch, None, 10.8)  # an unreadable count changes nothing
    assert watch.last_audio_at == 10.4 and watch.first_audio_at == 10.2
    assert round(silent_seconds(watch, 11.4), 6) == 1.0
    assert silent_seconds(Watch(since=10.0), 10.5) == 0.5  # never sent: since the answer


def test_the_rescue_gap_runs_from_the_dead_legs_last_audio_to_the_new_legs_first():
    dead = observe(observe(Watch(since=0.0, packets=0), 100, 5.0), 100, 5.2)
    new = Watch(since=5.9, packets=100)  # the same tag's count carries on after a rescue
    assert gap_seconds(dead, observe(new, 100, 6.0)) is None
    assert round(gap_seconds(dead, observe(new, 130, 6.2)), 6) == 1.2


def test_a_rescued_legs_first_read_is_only_its_baseline_when_the_dead_leg_was_never_read():
    # adopted, then its PBX died before the adopter's first poll: the count's packets are
    # the dead leg's, not the new PBX's
    new = Watch(since=3.0, first_read_is_audio=False)
    new = observe(new, 400, 3.2)
    assert new.first_audio_at is None and new.packets == 400
    assert observe(new, 420, 3.4).first_audio_at == 3.4
