"""Watched objects -> failover facts: the signals the operator acts on without waiting."""

from samu_operator.core import labels
from samu_operator.core.facts import (
    ZONE_DOWN_LABEL,
    node_fact,
    pod_fact,
    tenant_policy,
    tenant_state,
    zone_declared_down,
)


def node(ready="True", taints=(), extra_labels=None):
    return {
        "metadata": {"name": "n1", "labels": {labels.NODE_ZONE: "a", **(extra_labels or {})}},
        "spec": {"taints": [{"key": k, "effect": "NoExecute"} for k in taints]},
        "status": {"conditions": [{"type": "Ready", "status": ready}]},
    }


def test_a_node_is_lost_on_condition_or_taint_before_any_eviction():
    assert node_fact(node()).ready
    assert not node_fact(node(ready="Unknown")).ready
    assert not node_fact(node(taints=["node.kubernetes.io/unreachable"])).ready
    assert not node_fact(node(taints=["node.kubernetes.io/not-ready"])).ready
    assert node_fact(node(taints=["dedicated"])).ready


def test_zone_declared_down_by_a_node_label():
    assert zone_declared_down(node(extra_labels={ZONE_DOWN_LABEL: "true"})) == "a"
    assert zone_declared_down(node()) is None


def test_pod_fact_reads_readiness_deletion_and_fencing_labels():
    pod = {
        "metadata": {
            "name": "pbx-b-0",
            "labels": {labels.ZONE: "b", labels.ROLE: "active", labels.EPOCH: "7"},
            "deletionTimestamp": "2026-11-26T03:00:00Z",
        },
        "spec": {"nodeName": "n2"},
        "status": {"conditions": [{"type": "Ready", "status": "True"}]},
    }
    fact = pod_fact(pod)
    assert fact is not None
    assert (fact.zone, fact.ready, fact.deleted, fact.node, fact.role, fact.epoch) == (
        "b",
        True,
        True,
        "n2",
        "active",
        7,
    )
    assert pod_fact({"metadata": {"name": "other", "labels": {}}}) is None


def test_tenant_state_and_policy_from_the_resource():
    body = {
        "metadata": {
            "name": "samu-30",
            "annotations": {"samu-platform.io/switchover-to": "c"},
            "creationTimestamp": "2026-11-26T03:00:00Z",
        },
        "spec": {
            "pbx": {"zones": ["a", "b", "c"]},
            "failover": {"preferredZones": ["b"], "minIntervalSeconds": 12},
        },
        "status": {
            "activeZone": "b",
            "epoch": 4,
            "lastFailover": {"from": "a", "to": "b", "at": "2026-11-26T03:01:00.500Z"},
        },
    }
    state = tenant_state(body)
    assert (state.active_zone, state.epoch, state.last_from_zone, state.switchover_to) == (
        "b",
        4,
        "a",
        "c",
    )
    assert state.last_promotion_at is not None and state.created_at is not None
    assert state.last_promotion_at - state.created_at == 60.5
    policy = tenant_policy(body)
    assert (policy.zone_order, policy.min_interval) == (("b", "a", "c"), 12.0)
