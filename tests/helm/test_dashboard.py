"""The supervisor's Grafana dashboard: valid JSON, the panels a supervisor needs, real queries."""

import json
import re

import pytest

from tests.helm.charts import OPERATOR_CHART
from tests.helm.metrics_catalog import known_metric_names, metrics_in

DASHBOARDS = sorted((OPERATOR_CHART / "dashboards").glob("*.json"))
#: Grafana's variables, replaced by something PromQL accepts before parsing.
_GRAFANA_VARS = {
    "$__rate_interval": "5m",
    "$__range": "6h",
    "$__interval": "1m",
    "$tenant": ".*",
}


def _promql(expr: str) -> str:
    for var, value in _GRAFANA_VARS.items():
        expr = expr.replace(var, value)
    assert "$" not in expr, f"unknown Grafana variable in {expr}"
    return expr


def _panels(dashboard: dict) -> list[dict]:
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def _queries(dashboard: dict) -> list[tuple[str, str]]:
    out = [(p["title"], t["expr"]) for p in _panels(dashboard) for t in p.get("targets", [])]
    out += [(a["name"], a["expr"]) for a in dashboard["annotations"]["list"] if "expr" in a]
    return out


def test_there_is_a_dashboard():
    assert [p.name for p in DASHBOARDS] == ["samu-overview.json"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_dashboard_shape(path):
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in dashboard["panels"]:
        pos = panel["gridPos"]
        assert pos["x"] >= 0 and pos["x"] + pos["w"] <= 24, panel["title"]
    # Every query goes through the dashboard's Prometheus variable, never a fixed datasource.
    for panel in _panels(dashboard):
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.name)
def test_every_query_parses_and_uses_existing_metrics(path):
    dashboard = json.loads(path.read_text(encoding="utf-8"))
    queries = _queries(dashboard)
    assert queries
    for title, expr in queries:
        used = metrics_in(_promql(expr))
        unknown = used - known_metric_names()
        assert not unknown, f"panel {title!r} uses metrics nobody exports: {sorted(unknown)}"
    variable = next(v for v in dashboard["templating"]["list"] if v["name"] == "tenant")
    label_values = re.fullmatch(r"label_values\((\w+), *(\w+)\)", variable["definition"])
    assert label_values and label_values[1] in known_metric_names()


def test_supervisor_panels_are_there():
    dashboard = json.loads((OPERATOR_CHART / "dashboards" / "samu-overview.json").read_text())
    by_title = {p["title"]: p for p in _panels(dashboard)}
    needed = {
        "Calls routed per SAMU": "kamailio_samu_edge_call_attempts_total",
        "Failovers": "samu_failovers_total",
        "Active zone per tenant": "samu_tenant_active_zone",
        "Standbys available per tenant": "samu_tenant_standbys",
    }
    for title, metric in needed.items():
        assert title in by_title, f"missing panel {title!r}"
        used = set().union(*(metrics_in(_promql(t["expr"])) for t in by_title[title]["targets"]))
        assert metric in used, f"{title!r} does not read {metric}"
