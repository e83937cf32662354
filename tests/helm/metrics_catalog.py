"""Every metric name a Prometheus query of the charts may use, from where it is defined.

- the operator: ``samu_operator.core.metric_names`` (prometheus-client collectors);
- the SIP edge: the ``prom_counter``/``prom_gauge`` declarations of Kamailio's xhttp_prom in
  the edge chart's config, exposed with the module's prefix (``kamailio_`` unless the
  config sets ``xhttp_prom_pref``): checked against a live Kamailio in test_edge_chart.py;
- the recording shipper: ``samu_recordings.core.metric_names``;
- Prometheus itself: ``up`` and friends.
"""

import re
from pathlib import Path

import promql_parser

from samu_operator.core import metric_names
from samu_recordings.core import metric_names as recording_metric_names
from tests.helm.charts import EDGE_CHART

PROMETHEUS_BUILTIN = frozenset({"up", "scrape_duration_seconds", "scrape_samples_scraped"})
_PROM_DECL = re.compile(
    r'modparam\(\s*"xhttp_prom"\s*,\s*"prom_(?:counter|gauge)"\s*,\s*"name=([A-Za-z_:][\w:]*)'
)
_PROM_PREF = re.compile(r'modparam\(\s*"xhttp_prom"\s*,\s*"xhttp_prom_pref"\s*,\s*"([^"]*)"')


def edge_metric_names(config: Path | None = None) -> frozenset[str]:
    """Series names Kamailio exposes for the metrics the edge config declares."""
    config = config or EDGE_CHART / "files" / "kamailio.cfg"
    if not config.exists():
        return frozenset()
    text = config.read_text(encoding="utf-8")
    prefix_match = _PROM_PREF.search(text)
    prefix = prefix_match[1] if prefix_match else "kamailio_"
    return frozenset(prefix + name for name in _PROM_DECL.findall(text))


def known_metric_names() -> frozenset[str]:
    return (
        metric_names.series_names()
        | recording_metric_names.series_names()
        | edge_metric_names()
        | PROMETHEUS_BUILTIN
    )


def metrics_in(expr: str) -> set[str]:
    """Metric names a PromQL expression selects (raises ValueError when it does not parse)."""
    names: set[str] = set()

    def visit(node: object) -> bool:
        if isinstance(node, promql_parser.VectorSelector):
            names.add(node.name)
        return True

    promql_parser.walk(promql_parser.parse(expr), visit)
    return names
