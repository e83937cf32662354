"""Helpers for the chart tests: Helm (lint, render) in a child process, rendered objects."""

import functools
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
OPERATOR_CHART = REPO / "helm" / "samu-operator"
EDGE_CHART = REPO / "helm" / "samu-edge"
DRIVER = Path(__file__).with_name("helm_driver.py")
RELEASE = "samu"
NAMESPACE = "samu-system"
#: The oldest Kubernetes the charts support (Chart.yaml kubeVersion), checked besides the newest.
OLDEST_KUBE = "1.29.0"

REQUIRED_LABELS = (
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/version",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/part-of",
    "helm.sh/chart",
)


class HelmError(Exception):
    """Helm refused the chart or the values; the message is Helm's."""


def helm(action: str, chart: Path, values: dict[str, Any] | None = None, **extra: Any) -> Any:
    request = {"action": action, "chart": str(chart), "values": values or {}, **extra}
    proc = subprocess.run(
        [sys.executable, str(DRIVER)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"helm driver crashed: {proc.stderr[-2000:]}")
    reply = json.loads(proc.stdout)
    if not reply["ok"]:
        raise HelmError(reply["error"])
    return reply["result"]


@dataclass(frozen=True)
class Rendered:
    """One `helm template`: the objects by template, NOTES.txt, the chart's CRDs."""

    objects: list[tuple[str, dict[str, Any]]]  # (template path, object)
    notes: str
    crds: list[dict[str, str]]
    files: list[str]

    def of_kind(self, kind: str) -> list[dict[str, Any]]:
        return [obj for _, obj in self.objects if obj["kind"] == kind]

    def one(self, kind: str) -> dict[str, Any]:
        found = self.of_kind(kind)
        assert len(found) == 1, f"expected one {kind}, found {len(found)}"
        return found[0]

    def kinds(self) -> set[str]:
        return {obj["kind"] for _, obj in self.objects}


@functools.lru_cache(maxsize=64)
def _render_cached(chart: str, values_json: str) -> Rendered:
    result = helm("render", Path(chart), json.loads(values_json), name=RELEASE, namespace=NAMESPACE)
    objects: list[tuple[str, dict[str, Any]]] = []
    notes = ""
    for template, text in sorted(result["manifests"].items()):
        if template.endswith("NOTES.txt"):
            notes = text
            continue
        for doc in yaml.safe_load_all(text):
            if doc is not None:
                objects.append((template, doc))
    return Rendered(objects, notes, result["crds"], result["files"])


def render(chart: Path, values: dict[str, Any] | None = None) -> Rendered:
    """`helm template` with these values (cached: tests must not mutate the result)."""
    return _render_cached(str(chart), json.dumps(values or {}, sort_keys=True))


def load_values(chart: Path) -> dict[str, Any]:
    return yaml.safe_load((chart / "values.yaml").read_text(encoding="utf-8"))


def load_schema(chart: Path) -> dict[str, Any]:
    return json.loads((chart / "values.schema.json").read_text(encoding="utf-8"))


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    """Whether a matchLabels selector selects an object with these labels."""
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())
