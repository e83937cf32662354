"""Helpers for the chart tests: Helm (lint, render) in a child process, rendered objects."""

import atexit
import functools
import json
import subprocess
import sys
import threading
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


class _Driver:
    """The helm_driver.py child, started on first use and kept for the session."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None
        self.lock = threading.Lock()

    def ask(self, request: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if self.proc is None or self.proc.poll() is not None:
                self.proc = subprocess.Popen(
                    [sys.executable, str(DRIVER)],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                atexit.register(self.close)
            assert self.proc.stdin is not None and self.proc.stdout is not None
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"helm driver died (exit {self.proc.wait(timeout=10)})")
            return json.loads(line)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


_DRIVER = _Driver()


def helm(action: str, chart: Path, values: dict[str, Any] | None = None, **extra: Any) -> Any:
    """Lint or render ``chart`` with Helm's Go SDK; HelmError carries Helm's refusal."""
    reply = _DRIVER.ask({"action": action, "chart": str(chart), "values": values or {}, **extra})
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


def bound_cluster_role(rendered: Rendered) -> dict[str, Any]:
    """The ClusterRole the chart's ClusterRoleBinding grants (a chart may ship others)."""
    name = rendered.one("ClusterRoleBinding")["roleRef"]["name"]
    (role,) = [r for r in rendered.of_kind("ClusterRole") if r["metadata"]["name"] == name]
    return role
