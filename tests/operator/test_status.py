"""The status rule (core/status.py): phase and conditions from plain facts."""

import pytest

from samu_operator.core.status import (
    Problem,
    StatusFacts,
    ZoneFact,
    outcome,
    same_status,
    status_patch,
)

ALL_READY = (ZoneFact("a", "pbx-a-0", True), ZoneFact("b", "pbx-b-0", True))
B_DOWN = (ZoneFact("a", "pbx-a-0", True), ZoneFact("b", "pbx-b-0", False))
NONE_READY = (ZoneFact("a"), ZoneFact("b"))


@pytest.mark.parametrize(
    ("facts", "phase", "ready", "reason"),
    [
        (StatusFacts(ALL_READY), "Ready", "True", "AllPbxReady"),
        (StatusFacts(B_DOWN), "Degraded", "False", "PbxNotReady"),
        (StatusFacts(NONE_READY), "Pending", "False", "PbxStarting"),
        (StatusFacts(ALL_READY, active_zone="a"), "Ready", "True", "ActiveAndStandbysReady"),
        (StatusFacts(B_DOWN, active_zone="a"), "Degraded", "True", "StandbyNotReady"),
        (StatusFacts(B_DOWN, active_zone="b"), "Degraded", "False", "ActiveNotReady"),
        (
            StatusFacts(ALL_READY, active_zone="a", failing_over=True),
            "FailingOver",
            "False",
            "FailingOver",
        ),
        (
            StatusFacts(ALL_READY, problem=Problem("ZoneNotFound", "no zone z")),
            "Failed",
            "False",
            "ZoneNotFound",
        ),
    ],
)
def test_rule(facts, phase, ready, reason):
    result = outcome(facts)
    assert (result.phase.value, result.ready[0], result.ready[1]) == (phase, ready, reason)


def test_problem_is_reported_as_not_reconciled():
    result = outcome(StatusFacts(problem=Problem("PartnerNotFound", "samu-34 missing")))
    assert result.reconciled == ("False", "PartnerNotFound", "samu-34 missing")
    assert result.message == "samu-34 missing"


def test_patch_writes_only_onboarding_fields_and_keeps_roles():
    facts = StatusFacts(ALL_READY, generation=3, roles={"a": "active"})
    patch = status_patch(facts, [], "2026-01-01T00:00:00Z")
    assert set(patch) == {"phase", "message", "observedGeneration", "pbx", "conditions"}
    assert [(p["zone"], p["role"]) for p in patch["pbx"]] == [("a", "active"), ("b", "standby")]


def test_transition_time_kept_while_status_unchanged_and_foreign_conditions_kept():
    first = status_patch(StatusFacts(ALL_READY), [], "t1")
    foreign = {"type": "FailoverReady", "status": "True"}
    again = status_patch(StatusFacts(ALL_READY), [*first["conditions"], foreign], "t2")
    assert [c["lastTransitionTime"] for c in again["conditions"][:2]] == ["t1", "t1"]
    assert again["conditions"][2] == foreign
    assert same_status(again, {**first, "conditions": again["conditions"]})
    changed = status_patch(StatusFacts(B_DOWN), again["conditions"], "t3")
    ready = next(c for c in changed["conditions"] if c["type"] == "Ready")
    assert ready["lastTransitionTime"] == "t3"
    assert not same_status(changed, again)
