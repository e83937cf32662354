"""The call drill's verdict: carried seconds, copies put together, what a kill may cost."""

from samu_lab.callscore import CallDrillReport, PlacedCall, StoredCopy, carried_seconds, judge

T0 = 1_800_000_000.0


def test_carried_seconds_stop_where_the_platform_stopped_carrying_the_call():
    answered = PlacedCall("c1", T0, "ok")
    assert carried_seconds(answered, 10, None) == 10
    assert carried_seconds(answered, 10, media_died_at=T0 + 3.7) == 3  # the edge died
    assert carried_seconds(answered, 10, media_died_at=T0 - 1) == 0  # died before the answer
    assert carried_seconds(PlacedCall("c2", T0, "ended", ended_at=T0 + 2.2), 10, None) == 2
    assert carried_seconds(PlacedCall("c3", None, "failed"), 10, None) == 0


def test_copies_together_make_a_recording_complete():
    call = PlacedCall("c1", T0, "dropped")
    edge = StoredCopy("edge-a", "chunks", frozenset({0, 1, 2}))
    pbx = StoredCopy("pbx-a", "wav", frozenset({2, 3, 4}))
    assert judge(call, 5, [edge, pbx]).complete
    one = judge(call, 5, [edge])
    assert (one.complete, one.lost, one.missing) == (False, False, (3, 4))
    assert judge(call, 5, []).lost
    assert dict(judge(call, 5, [edge, pbx]).missing_by_kind) == {"edge": (3, 4), "pbx": (0, 1)}


def _report(kill: str, verdicts: list) -> CallDrillReport:
    placed = [PlacedCall(v.call_id, T0, "ok") for v in verdicts]
    return CallDrillReport(len(placed), kill, kill, 1.0, 5, placed, verdicts, 1.0)


def test_only_an_edges_death_may_cost_audio_and_at_most_two_seconds():
    call = PlacedCall("c1", T0, "ok")
    two_short = judge(call, 5, [StoredCopy("pbx-a", "wav", frozenset({0, 1, 2}))])
    assert _report("edge", [two_short]).ok
    assert not _report("pbx", [two_short]).ok
    three_short = judge(call, 5, [StoredCopy("pbx-a", "wav", frozenset({0, 1}))])
    assert not _report("edge", [three_short]).ok
    lost = judge(call, 5, [])
    report = _report("edge", [lost])
    assert not report.ok
    data = report.as_dict()["recordings"]
    assert (data["expected"], data["lost"], data["maxAudioLostSeconds"]) == (1, 1, 5)
