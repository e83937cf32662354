"""Fixtures of the operator's e2e tests (see harness.py for the API).

``cluster``/``operator`` are per test (for tests that restart the operator);
``shared_cluster``/``shared_operator`` live for a whole module (mark the module with
``pytest.mark.asyncio(loop_scope="module")`` and give each test its own tenants): starting
and stopping Kopf costs seconds, so most e2e tests share one operator.
"""

import os
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

# Before the handlers are imported: a fast periodic re-check, no metrics port in tests.
os.environ.setdefault("SAMU_OPERATOR_RECHECK_SECONDS", "10")
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


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_cluster() -> AsyncIterator[EmulatedCluster]:
    async with EmulatedCluster() as emulated:
        yield emulated


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_operator(shared_cluster: EmulatedCluster) -> AsyncIterator[OperatorThread]:
    op = OperatorThread(shared_cluster.url)
    op.start()
    try:
        yield op
    finally:
        await op.stop()
