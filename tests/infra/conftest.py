"""Helpers for the infra tests: run a stack's program under mocks once per session.

These tests are plain sync tests in their own pytest session: the Pulumi SDK drives its
own event loop (see the Makefile), which would clash with pytest-asyncio's.
"""

from functools import cache

import pytest

from samu_infra import offline
from samu_infra.config import StackConfig
from samu_infra.inventory import Declared, Inventory
from samu_infra.offline import OfflineRun, run_offline
from samu_infra.stackfile import parse_config
from tests.infra.stackgen import REPO, stack_doc


@cache
def config_of(stack: str) -> StackConfig:
    return parse_config(stack_doc(stack)["config"], stack)


@cache
def run_of(stack: str) -> OfflineRun:
    return run_offline(config_of(stack), stack, REPO)


def instances(run: OfflineRun, tier: str | None = None) -> list[Declared]:
    inv = Inventory(run.resources)
    return [r for r in inv.of_kind("Instance") if tier is None or r.tier == tier]


@pytest.fixture
def declared(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the resources the program declares during the test: a bad stack config must
    leave it empty (it fails before any resource is touched)."""
    names: list[str] = []
    real = offline.RecordingMocks.new_resource
    monkeypatch.setattr(
        offline.RecordingMocks,
        "new_resource",
        lambda self, args: names.append(args.name) or real(self, args),
    )
    return names
