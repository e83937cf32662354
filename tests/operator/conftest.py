"""Fixtures of the operator's e2e tests (see harness.py for the API).

``cluster``/``operator`` are per test (for tests that restart the operator);
``shared_cluster``/``shared_operator`` live for a whole module (mark the module with
``pytest.mark.asyncio(loop_scope="module")`` and give each test its own tenants): starting
and stopping Kopf costs seconds, so most e2e tests share one operator.
"""

import json
import os
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

# Before the handlers are imported: a fast periodic re-check, no metrics port in tests.
os.environ.setdefault("SAMU_OPERATOR_RECHECK_SECONDS", "10")
os.environ.setdefault("SAMU_OPERATOR_METRICS_PORT", "0")

from samu_operator.sim.kubelet import EmulatedCluster
from tests.operator.harness import OperatorThread

#: Set to a file path to collect what the operator asked the API server for in every e2e
#: test (JSON lines of [verb, group/version/plural[/sub], scope, count]): the chart's RBAC
#: is derived from it.
API_CALLS_ENV = "SAMU_API_CALLS_FILE"


def record_api_calls(cluster: EmulatedCluster) -> None:
    path = os.environ.get(API_CALLS_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as out:
            for (verb, resource, scope), count in sorted(cluster.emulator.api_calls().items()):
                out.write(json.dumps([verb, resource, scope, count]) + "\n")


@pytest.fixture
async def cluster() -> AsyncIterator[EmulatedCluster]:
    async with EmulatedCluster() as emulated:
        yield emulated
        record_api_calls(emulated)


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
        record_api_calls(emulated)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared_operator(shared_cluster: EmulatedCluster) -> AsyncIterator[OperatorThread]:
    op = OperatorThread(shared_cluster.url)
    op.start()
    try:
        yield op
    finally:
        await op.stop()
