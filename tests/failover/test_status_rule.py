"""The failover part's facts in the shared status rule (core/status.py)."""

from samu_operator.core.status import Problem, StatusFacts, ZoneFact, outcome
from samu_operator.model.tenant import Phase

ZONES = (ZoneFact("a", "pbx-a-0", False), ZoneFact("b", "pbx-b-0", False))


def test_no_standby_makes_the_tenant_failed_but_reconciled():
    facts = StatusFacts(ZONES, None, "a", False, failover_problem=Problem("NoStandby", "lost"))
    result = outcome(facts)
    assert result.phase == Phase.FAILED
    assert result.ready[:2] == ("False", "NoStandby")
    assert result.reconciled[0] == "True"


def test_failing_over_then_degraded_once_the_new_active_is_elected():
    assert outcome(StatusFacts(ZONES, None, "a", True)).phase == Phase.FAILING_OVER
    zones = (ZoneFact("a", "pbx-a-0", False), ZoneFact("b", "pbx-b-0", True))
    assert outcome(StatusFacts(zones, None, "b", False)).phase == Phase.DEGRADED
