"""Failover end to end while the API server misbehaves (``sim.faults``): watch streams that
end every second or die quietly, and a drill with faults on a tenth of the requests."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from samu_operator.sim.faults import KINDS, Faults
from samu_operator.sim.operator_process import OperatorProcess
from tests.failover.conftest import onboard, settled
from tests.operator.harness import OperatorThread, apply, phase, tenant_doc, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
async def start_operator(cluster, monkeypatch):
    """The operator, started with the given environment (read at its start-up)."""
    started: list[OperatorThread] = []

    def start(**env: str) -> OperatorThread:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        op = OperatorThread(cluster.url)
        op.start()
        started.append(op)
        return op

    yield start
    for op in started:
        await op.stop()


async def test_a_quiet_pod_watch_does_not_hide_a_failing_active_pbx(cluster, start_operator):
    cluster.emulator.bookmark_seconds = 0.5  # healthy streams are never quiet for long
    start_operator(SAMU_OPERATOR_WATCH_INACTIVITY_SECONDS="1.5")
    name = await onboard(cluster, "30")
    cluster.emulator.silence_watches()  # every stream open now dies quietly
    await cluster.kubelet.set_pod_ready(name, "pbx-a-0", False)
    # The pods are re-listed every 15 s anyway: well before that, the watchdog reconnects.
    await wait_for(lambda: settled(cluster, name, "b", 2), 8, "promotion to b")


async def test_a_quiet_node_watch_does_not_hide_a_zone_loss(cluster, start_operator):
    # A long watchdog: only the failover part's own re-list of the nodes can see the loss.
    start_operator(SAMU_OPERATOR_WATCH_INACTIVITY_SECONDS="60", SAMU_FAILOVER_RESYNC_SECONDS="1")
    name = await onboard(cluster, "13")
    cluster.emulator.silence_watches()
    await cluster.kubelet.fail_zone("a", pods_unready=False)  # partitioned: pods say Ready
    await wait_for(lambda: settled(cluster, name, "b", 2), 8, "promotion to b")


async def test_watch_streams_closed_every_second_lose_no_signal(cluster, start_operator):
    cluster.emulator.faults = Faults(rate=1.0, kinds=frozenset({"watch-close"}), watch_seconds=1.0)
    start_operator()
    first = await onboard(cluster, "34")
    second = await onboard(cluster, "84")
    await cluster.kubelet.set_pod_ready(first, "pbx-a-0", False)
    await cluster.kubelet.delete_pod(second, "pbx-a-0")
    await wait_for(lambda: settled(cluster, first, "b", 2), 10, f"{first} to b")
    await wait_for(lambda: settled(cluster, second, "b", 2), 10, f"{second} to b")
    assert cluster.emulator.faults.counts["watch-close"] > 10


def test_drill_with_faults_on_a_tenth_of_the_requests():
    """``samuctl drill --chaos 0.1`` as a person runs it (its own process: the operator's
    settings are the production ones, not this test session's)."""
    samuctl = str(Path(sys.executable).parent / "samuctl")
    run = subprocess.run(
        [samuctl, "drill", "--tenants", "9", "--chaos", "0.1", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=150,
        env={k: v for k, v in os.environ.items() if not k.startswith("SAMU_")},
    )
    assert run.returncode == 0, run.stderr[-2000:]
    report = json.loads(run.stdout)
    assert report["failed_over"] == report["affected"] > 0, report["not_failed_over"]
    assert report["double_active"] == 0 and report["without_standby"] == 0
    assert set(report["faults"]) >= set(KINDS) - {"409"}, report["faults"]


async def test_a_tenant_whose_first_answer_from_the_api_is_lost_is_onboarded_all_the_same(
    cluster,
):
    # Kopf's first write to a new tenant (its finalizer, a JSON patch testing the
    # resourceVersion) is applied, then the connection drops: its retry fails its own test
    # and Kopf waits for an event of that tenant that never comes. The operator runs in its
    # own process, with the production re-check (a minute): only the catch-up can save it.
    path = "/apis/samu-platform.io/v1alpha1/samutenants/samu-30"
    cluster.emulator.faults = Faults(
        rate=1.0, kinds=frozenset({"reset"}), only=lambda m, p: (m, p) == ("PATCH", path), limit=1
    )
    env = {"SAMU_OPERATOR_RECHECK_SECONDS": "600", "SAMU_OPERATOR_CATCH_UP_SECONDS": "2"}
    op = OperatorProcess(cluster.url, env=env)
    op.start()
    try:
        await apply(cluster, tenant_doc("30"))
        await wait_for(lambda: cluster.emulator.faults.counts["reset"] == 1, 20, "the lost answer")
        await wait_for(lambda: phase(cluster, "samu-30") == "Ready", 15, "samu-30 Ready")
    finally:
        await op.stop()
