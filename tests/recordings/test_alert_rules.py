"""The recording shipper's alert rules: valid PromQL over metrics the shipper exports, a
runbook each, and an alert on every way recordings can stop reaching the store."""

import pytest
import yaml

from samu_recordings.core import alerts
from samu_recordings.core import metric_names as m
from tests.helm.charts import OPERATOR_CHART
from tests.helm.metrics_catalog import known_metric_names, metrics_in

RULES = OPERATOR_CHART / "alerts" / "samu-recordings.rules.yaml"


def rules() -> list[dict]:
    doc = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return [rule for group in doc["groups"] for rule in group["rules"]]


@pytest.mark.parametrize("rule", rules(), ids=lambda r: r["alert"])
def test_rule_uses_exported_metrics_and_has_a_runbook(rule):
    used = metrics_in(rule["expr"])
    assert used and used <= known_metric_names() and used <= m.series_names()
    assert rule["labels"]["severity"] in {"critical", "warning"}
    for key in ("summary", "description", "runbook"):
        assert rule["annotations"][key].strip()


def test_every_failure_metric_has_an_alert_with_the_code_thresholds():
    by_name = {r["alert"]: r["expr"] for r in rules()}
    used = set().union(*(metrics_in(e) for e in by_name.values()))
    for spec in (m.OLDEST_UNSHIPPED, m.UPLOAD_FAILURES, m.DISK_FREE_RATIO, m.DISK_WRITE_FAILURES):
        assert spec.name in used, f"no alert on {spec.name}"
    assert f"> {alerts.BACKLOG_AGE_SECONDS:g}" in by_name["SamuRecordingsNotShipping"]
    assert f"< {alerts.DISK_FREE_RATIO:g}" in by_name["SamuRecordingsDiskFull"]
