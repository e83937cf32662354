"""Shared fixtures: the repository root and the example SamuTenant documents."""

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

# Before any test imports the operator's handlers (timer intervals are read at import):
# the PBX rollout acts within a second in the tests (5 s in production).
os.environ.setdefault("SAMU_ROLLOUT_SECONDS", "1")

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "helm" / "samu-operator" / "examples"


def example_paths() -> list[Path]:
    return sorted(EXAMPLES.glob("*.yaml"))


@pytest.fixture
def repo() -> Path:
    return REPO


def load_samu30() -> dict[str, Any]:
    """A fresh, valid SamuTenant document (SAMU 30, Nîmes) that a caller may mutate."""
    return yaml.safe_load((EXAMPLES / "samu-30.yaml").read_text(encoding="utf-8"))


@pytest.fixture
def samu30() -> dict[str, Any]:
    return load_samu30()
