"""Failover end to end: the real operator (Kopf) against the emulator and simulated kubelet.

Every test also runs the double-active audit over the emulator's full object history
(in the ``cluster`` fixture's teardown).
"""

import pytest

from samu_operator import metrics
from samu_operator.core import labels
from tests.failover.conftest import (
    events,
    onboard,
    operator_sees_ready,
    pods,
    role,
    settled,
    status,
)
from tests.operator.harness import wait_for

pytestmark = pytest.mark.e2e


def sample(metric: str, **labels_: str) -> float:
    return metrics.REGISTRY.get_sample_value(metric, labels_) or 0.0


async def test_unready_active_pod_fails_over_in_zone_order(cluster, operator):
    name = await onboard(cluster, "30")
    key = {"tenant": name, "from_zone": "a", "to_zone": "b", "reason": "PodNotReady"}
    before = sample("samu_failovers_total", **key)
    observed = sample("samu_failover_duration_seconds_count", tenant=name)
    await cluster.kubelet.set_pod_ready(name, "pbx-a-0", False)
    await wait_for(lambda: settled(cluster, name, "b", 2), 20, "promotion to b")
    last = status(cluster, name)["lastFailover"]
    assert (last["from"], last["to"], last["reason"]) == ("a", "b", "PodNotReady")
    assert 0 <= last["seconds"] < 10
    assert role(cluster, name, "a")[0] == "fenced"
    await wait_for(lambda: events(cluster, "PodNotReady"), 10, "an Event on the tenant")
    await wait_for(lambda: sample("samu_failovers_total", **key) == before + 1, 10, "counter")
    assert sample("samu_failover_duration_seconds_count", tenant=name) == observed + 1
    await wait_for(
        lambda: sample("samu_tenant_active_zone", tenant=name, zone="b") == 1, 10, "gauge"
    )
    assert sample("samu_tenant_active_zone", tenant=name, zone="a") == 0  # series removed
    await wait_for(lambda: sample("samu_tenant_standbys", tenant=name) == 1, 10, "standbys")


async def test_node_not_ready_fails_over_without_waiting_for_eviction(cluster, operator):
    name = await onboard(cluster, "13")
    node = pods(cluster, name)["a"]["spec"]["nodeName"]
    await cluster.kubelet.set_node_ready(node, False)  # pod still 'Ready': the kubelet is gone
    await wait_for(lambda: settled(cluster, name, "b", 2), 20, "promotion to b")
    assert status(cluster, name)["lastFailover"]["reason"] in ("NodeNotReady", "ZoneDown")
    assert role(cluster, name, "a")[0] == "fenced"


async def test_pod_deleted_fails_over_and_the_recreated_pod_is_a_standby(cluster, operator):
    name = await onboard(cluster, "34")
    cluster.kubelet.hold("a")  # a real PBX takes a while to come back: re-create it later
    await cluster.kubelet.delete_pod(name, "pbx-a-0")
    await wait_for(lambda: settled(cluster, name, "b", 2), 20, "promotion to b")
    assert status(cluster, name)["lastFailover"]["reason"] == "PodDeleted"
    cluster.kubelet.hold("a", False)
    # The StatefulSet re-creates pbx-a-0 with template labels: it must become a standby.
    await wait_for(lambda: role(cluster, name, "a")[0] == "standby", 20, "a back as standby")


async def test_partitioned_zone_coming_back_stays_fenced(cluster, operator):
    name = await onboard(cluster, "31", min_interval=3600)  # fenced stays fenced that long
    await cluster.kubelet.fail_zone("a", pods_unready=False)  # partition: pod believes it lives
    await wait_for(lambda: settled(cluster, name, "b", 2), 20, "promotion to b")
    # The zone comes back and its pod reappears with the labels it had before the partition.
    await cluster.kubelet.restore_zone("a")
    stale = {labels.ROLE: "active", labels.EPOCH: "1"}
    await cluster.emulator.merge("v1/pods", name, "pbx-a-0", {"metadata": {"labels": stale}})
    await wait_for(lambda: role(cluster, name, "a")[0] == "fenced", 20, "stale active fenced")
    assert settled(cluster, name, "b", 2)
    # The audit (fixture teardown) checks it was never selected, even while labelled active.


async def test_no_standby_available_reports_failed(cluster, operator):
    name = await onboard(cluster, "32", zones=("a", "b"))
    await cluster.kubelet.set_pod_ready(name, "pbx-b-0", False)
    await wait_for(lambda: operator_sees_ready(name, "b") is False, 10, "b seen unready")
    await cluster.kubelet.fail_zone("a")
    await wait_for(lambda: events(cluster, "NoStandby"), 20, "a NoStandby Event")
    assert status(cluster, name)["activeZone"] == "a"  # nothing to promote: nothing moved
    assert status(cluster, name)["epoch"] == 1
    await wait_for(lambda: status(cluster, name).get("phase") == "Failed", 20, "phase Failed")
    ready = next(c for c in status(cluster, name)["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "NoStandby")
    # As soon as a PBX is ready again, it is promoted.
    await cluster.kubelet.set_pod_ready(name, "pbx-b-0", True)
    await wait_for(lambda: settled(cluster, name, "b", 2), 20, "promotion once b is ready")
    await wait_for(lambda: status(cluster, name).get("phase") != "Failed", 20, "phase recovers")


async def test_planned_switchover_moves_the_active_and_clears_the_request(cluster, operator):
    from samu_operator.core.fencing import SWITCHOVER_ANNOTATION
    from tests.operator.harness import tenant

    name = await onboard(cluster, "33", min_interval=3600)
    patch = {"metadata": {"annotations": {SWITCHOVER_ANNOTATION: "c"}}}
    await cluster.emulator.merge("samu-platform.io/v1alpha1/samutenants", None, name, patch)
    await wait_for(lambda: settled(cluster, name, "c", 2), 20, "switchover to c")
    assert status(cluster, name)["lastFailover"]["reason"] == "Switchover"
    assert role(cluster, name, "a")[0] == "fenced"  # drained: out of the Service, not killed
    assert "pbx-a-0" in {p["metadata"]["name"] for p in pods(cluster, name).values()}
    await wait_for(
        lambda: (
            SWITCHOVER_ANNOTATION
            not in (tenant(cluster, name)["metadata"].get("annotations") or {})
        ),
        10,
        "request cleared",
    )


async def test_flap_guard_delays_a_second_soft_failover(cluster, operator):
    from samu_operator.core.facts import parse_time

    name = await onboard(cluster, "38", min_interval=3)
    await cluster.kubelet.set_pod_ready(name, "pbx-a-0", False)
    await wait_for(lambda: settled(cluster, name, "b", 2), 20, "first failover to b")
    first = parse_time(status(cluster, name)["lastFailover"]["at"])
    await cluster.kubelet.set_pod_ready(name, "pbx-b-0", False)  # b flaps right away
    await wait_for(lambda: settled(cluster, name, "c", 3), 20, "second failover, held then done")
    second = parse_time(status(cluster, name)["lastFailover"]["at"])
    assert first is not None and second is not None
    assert second - first >= 3 - 0.01, "the second soft failover must wait minIntervalSeconds"
