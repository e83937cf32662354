"""Generated stacks for tests and the benchmark: prod scaled up, or prod with one key changed."""

import copy
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
PREFIX = "samu-platform:"


def stack_doc(name: str) -> dict[str, Any]:
    """A fresh copy of a committed stack file (the caller may mutate it)."""
    return yaml.safe_load((REPO / "stacks" / f"Pulumi.{name}.yaml").read_text(encoding="utf-8"))


def scaled_prod(factor: int) -> dict[str, Any]:
    """prod with ``factor`` times the clusters (copies) and RAC nodes (capped at 8)."""
    doc = stack_doc("prod")
    cfg = doc["config"]
    clusters = cfg[f"{PREFIX}clusters"]
    secrets = cfg[f"{PREFIX}clusterSecrets"]
    originals = list(clusters)
    for copy_no in range(1, factor):
        for cluster in originals:
            twin = copy.deepcopy(cluster)
            twin["name"] = f"{cluster['name']}-{copy_no}"
            twin["sipEdge"] = False
            clusters.append(twin)
            secrets[twin["name"]] = copy.deepcopy(secrets[cluster["name"]])
    cfg[f"{PREFIX}oracle"]["nodes"] = min(8, cfg[f"{PREFIX}oracle"]["nodes"] * factor)
    return doc


def write(doc: dict[str, Any], directory: Path, name: str) -> Path:
    path = directory / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path
