"""The on-call alert rules: the expected alerts, valid PromQL, real metric names, a runbook."""

import re

import pytest
import yaml

from samu_operator.core import metric_names
from tests.helm.charts import OPERATOR_CHART
from tests.helm.metrics_catalog import edge_metric_names, known_metric_names, metrics_in

RULES_FILE = OPERATOR_CHART / "alerts" / "samu-operator.rules.yaml"
#: What the on-call engineer needs (issue: tenant not Ready, without a standby, failover
#: happened, failover failed, operator down or not leading, reconcile errors rising), plus
#: the SIP edge's: calls lost or overflowing, requests to callers refused, the edge down.
EXPECTED = {
    "SamuTenantNotReady",
    "SamuTenantWithoutStandby",
    "SamuFailoverHappened",
    "SamuFailoverFailed",
    "SamuFailoverSlow",
    "SamuOperatorDown",
    "SamuOperatorNotLeading",
    "SamuOperatorSplitBrain",
    "SamuOperatorNoSpareReplica",
    "SamuReconcileErrorsRising",
    "SamuReconcileSlow",
    "SamuCallSetupFailures",
    "SamuAnsweredCallsDropped",
    "SamuCallsOverflowing",
    "SamuCarrierUnreachable",
    "SamuCallsUnrecordedAtEdge",
    "SamuEdgeDown",
}
_DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")


def _rules() -> list[dict]:
    doc = yaml.safe_load(RULES_FILE.read_text(encoding="utf-8"))
    assert set(doc) == {"groups"}
    return [rule for group in doc["groups"] for rule in group["rules"]]


def test_metrics_in_parses_and_refuses():
    assert metrics_in("sum by (le) (rate(a_bucket[5m])) > 2 or absent(b)") == {"a_bucket", "b"}
    with pytest.raises(ValueError):
        metrics_in("sum(rate(a[5m])")


def test_the_expected_alerts_exist_once_each():
    names = [rule["alert"] for rule in _rules()]
    assert sorted(names) == sorted(EXPECTED)


@pytest.mark.parametrize("rule", _rules(), ids=lambda r: r["alert"])
def test_rule_is_valid_and_actionable(rule):
    assert set(rule) <= {"alert", "expr", "for", "labels", "annotations", "keep_firing_for"}
    used = metrics_in(rule["expr"])
    assert used, "an alert must select at least one metric"
    unknown = used - known_metric_names()
    assert not unknown, f"{rule['alert']} uses metrics nobody exports: {sorted(unknown)}"
    if "for" in rule:
        assert _DURATION.match(rule["for"])
    assert rule["labels"]["severity"] in {"critical", "warning"}
    annotations = rule["annotations"]
    for key in ("summary", "description", "runbook"):
        assert annotations.get(key, "").strip(), f"{rule['alert']} lacks a {key}"
    # Label references in the text must be labels the expression keeps.
    for label in re.findall(r"\$labels\.(\w+)", " ".join(annotations.values())):
        assert label in rule["expr"], f"{rule['alert']}: $labels.{label} is not in the expr"


def test_alerts_cover_the_failover_and_operator_metrics():
    used = set().union(*(metrics_in(rule["expr"]) for rule in _rules()))
    for spec in (
        metric_names.FAILOVERS,
        metric_names.FAILOVER_FAILURES,
        metric_names.STANDBYS,
        metric_names.TENANT_PHASE,
        metric_names.OPERATOR_LEADING,
        metric_names.RECONCILE_ERRORS,
    ):
        assert set(spec.series_names) & used, f"no alert on {spec.name}"


def test_edge_metrics_are_known_from_the_kamailio_config():
    # The dashboard's "calls routed per SAMU" reads these; an empty set would hide a rename.
    assert "kamailio_samu_edge_call_attempts_total" in edge_metric_names()


def test_every_edge_failure_counter_has_an_alert():
    # A counter the edge adds for a way calls go wrong must page someone: a new one without
    # an alert fails here.
    used = set().union(*(metrics_in(rule["expr"]) for rule in _rules()))
    failures = {
        name
        for name in edge_metric_names()
        if re.search(r"(failures|dropped_calls|unreachable)_total$", name)
    }
    assert "kamailio_samu_edge_carrier_unreachable_total" in failures
    assert failures <= used, failures - used


RUNBOOKS = OPERATOR_CHART.parent.parent / "docs" / "runbooks"


@pytest.mark.parametrize("rule", _rules(), ids=lambda r: r["alert"])
def test_each_alert_links_its_own_runbook(rule):
    name = rule["alert"]
    link = f"docs/runbooks/{name}.md"
    assert link in rule["annotations"]["runbook"], f"{name}: runbook annotation lacks {link}"
    text = (RUNBOOKS / f"{name}.md").read_text(encoding="utf-8")
    assert text.startswith(f"# {name}\n"), f"{link} must be titled with the alert's name"
    assert rule["labels"]["severity"] in text
    for section in ("## What it means for callers", "## Diagnose", "## Fix", "## Afterwards"):
        assert section in text, f"{link} lacks {section!r}"
    # Links between runbooks point to runbooks that exist.
    for target in re.findall(r"\]\(([A-Za-z]+\.md)\)", text):
        assert (RUNBOOKS / target).exists(), f"{link} links to a missing {target}"


def test_every_runbook_is_titled_with_its_alert():
    for page in RUNBOOKS.glob("*.md"):
        assert page.read_text(encoding="utf-8").startswith(f"# {page.stem}\n"), page.name


PENDING = OPERATOR_CHART / "alerts" / "pending" / "samu-secours.rules.yaml"
SECOURS_COUNTER = "kamailio_samu_edge_secours_total"


def test_secours_alert_waits_for_the_edge_counter_then_must_ship():
    """The secours alert is written (rule and runbook) before the edge counts secours calls;
    once kamailio.cfg declares the counter it must move into the shipped rules."""
    doc = yaml.safe_load(PENDING.read_text(encoding="utf-8"))
    [rule] = [r for group in doc["groups"] for r in group["rules"]]
    assert rule["alert"] == "SamuCallsToSecours"
    assert metrics_in(rule["expr"]) == {SECOURS_COUNTER}
    assert rule["labels"]["severity"] == "critical"
    test_each_alert_links_its_own_runbook(rule)
    shipped = {r["alert"] for r in _rules()}
    if SECOURS_COUNTER in edge_metric_names():
        assert "SamuCallsToSecours" in shipped, (
            "kamailio.cfg now counts secours calls: move alerts/pending/samu-secours.rules.yaml's "
            "rule into samu-operator.rules.yaml (and EXPECTED)"
        )
    else:
        assert "SamuCallsToSecours" not in shipped  # no alert on a counter nobody exports
