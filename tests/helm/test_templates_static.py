"""What rendering alone does not catch: a template reading a value that values.yaml lacks.

Helm renders a missing `.Values.a.b` as empty (or "<no value>") without an error, so a typo
in a template silently drops a field. Every values path a template reads must exist in
values.yaml (and so in the schema, which refuses unknown keys).
"""

import re
from pathlib import Path
from typing import Any

import pytest

from tests.helm.charts import EDGE_CHART, OPERATOR_CHART, load_values

_VALUES_REF = re.compile(r"(\$?\.Values|\$[A-Za-z_]\w*)((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")
_ASSIGN = re.compile(r"(\$[A-Za-z_]\w*)\s*:?=\s*\$?\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)")


def values_paths(text: str) -> set[tuple[str, ...]]:
    """Values paths a template reads, following `$x := .Values.a` variables."""
    aliases = {var: tuple(path.strip(".").split(".")) for var, path in _ASSIGN.findall(text)}
    paths: set[tuple[str, ...]] = set()
    for head, tail in _VALUES_REF.findall(text):
        parts = tuple(tail.strip(".").split("."))
        if head.endswith(".Values"):
            paths.add(parts)
        elif head in aliases:
            paths.add(aliases[head] + parts)
    return paths


def _exists(values: dict[str, Any], path: tuple[str, ...]) -> bool:
    node: Any = values
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return False
        node = node[key]
    return True


def test_values_paths_parser():
    text = (
        "{{ .Values.a.b }} {{- $np := .Values.net }} {{ $np.x.y }} {{ $.Values.c }} {{ $other.z }}"
    )
    assert values_paths(text) == {("a", "b"), ("net", "x", "y"), ("c",), ("net",)}


@pytest.mark.parametrize("chart", [OPERATOR_CHART, EDGE_CHART], ids=["operator", "edge"])
def test_every_values_path_in_templates_exists(chart: Path):
    values = load_values(chart)
    missing = []
    for template in sorted((chart / "templates").iterdir()):
        for path in sorted(values_paths(template.read_text(encoding="utf-8"))):
            if not _exists(values, path):
                missing.append(f"{template.name}: .Values.{'.'.join(path)}")
    assert missing == []


@pytest.mark.parametrize("chart", [OPERATOR_CHART, EDGE_CHART], ids=["operator", "edge"])
def test_every_top_level_value_is_used(chart: Path):
    used = {
        path[0]
        for template in (chart / "templates").iterdir()
        for path in values_paths(template.read_text(encoding="utf-8"))
    }
    assert set(load_values(chart)) - used == set(), "values nobody reads mislead the user"
