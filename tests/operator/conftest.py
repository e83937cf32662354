"""Fixtures of the operator's e2e tests (see harness.py for the API)."""

import os
from collections.abc import AsyncIterator

import pytest

# Before the handlers are imported: a fast periodic re-check, no metrics port in tests.
os.environ.setdefault("SAMU_OPERATOR_RECHECK_SECONDS", "2")
os.environ.setdefault("SAMU_OPERATOR_METRICS_PORT", "0")

from samu_operator.kubelet import EmulatedCluster
from tests.operator.harness import OperatorThread


@pytest.fixture
async def cluster() -> AsyncIterator[EmulatedCluster]:
    async with EmulatedCluster() as emulated:
        yield emulated


@pytest.fixture
async def operator(cluster: EmulatedCluster) -> AsyncIterator[OperatorThread]:
    op = OperatorThread(cluster.url)
    op.start()
    try:
        yield op
    finally:
        await op.stop()
