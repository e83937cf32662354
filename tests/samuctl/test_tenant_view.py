"""The status row is built from plain data: unknowns stay unknown, ages read like kubectl's."""

import datetime

from samu_operator.core.tenant_view import age, describe_failover, render_table, tenant_row

NOW = datetime.datetime(2026, 12, 4, 12, 0, tzinfo=datetime.UTC)


def _tenant(**status):
    return {"metadata": {"name": "samu-30"}, "status": status}


def test_a_new_tenant_is_pending_with_nothing_known():
    row = tenant_row({"metadata": {"name": "samu-30"}}, None)
    assert (row.phase, row.active_zone, row.epoch, row.standbys) == ("Pending", None, 0, 0)
    assert row.call_backs == 0  # no ConfigMap: no call was ever dropped
    cells = dict(
        zip(
            ["name", "phase", "mode", "active", "epoch", "last", "standbys", "pos", "cb", "rec"],
            row.cells(NOW),
            strict=True,
        )
    )
    assert cells["active"] == "n/a" and cells["pos"] == "n/a" and cells["rec"] == "n/a"
    assert cells["last"] == "never"
    assert cells["mode"] == "platform"  # no spec.routing: its PBX


def test_the_routing_mode_shows_a_centre_in_parallel_run():
    tenant = {**_tenant(phase="Ready"), "spec": {"routing": {"mode": "legacy"}}}
    row = tenant_row(tenant, None)
    assert row.mode == "legacy" and "legacy" in render_table([row], NOW).splitlines()[1]


def test_only_ready_standbys_count_and_call_backs_are_the_configmap_keys():
    pbx = [
        {"zone": "a", "role": "fenced", "ready": True},
        {"zone": "b", "role": "active", "ready": True},
        {"zone": "c", "role": "standby", "ready": True},
        {"zone": "d", "role": "standby", "ready": False},
    ]
    dropped = {
        "data": {
            "20261204T115900.000Z-0123456789abcdef": "{}",
            "20261204T115901.000Z-fedcba9876543210": "{}",
        }
    }
    row = tenant_row(
        _tenant(phase="Ready", activeZone="b", epoch=4, pbx=pbx), dropped, positions=12
    )
    assert row.standby_zones == ["c"] and row.call_backs == 2 and row.positions == 12
    table = render_table([row], NOW)
    assert "1 (c)" in table and "12" in table


def test_failover_and_ages():
    record = {
        "from": "a",
        "to": "b",
        "at": "2026-12-04T11:55:00Z",
        "seconds": 1.42,
        "reason": "NodeNotReady",
    }
    assert describe_failover(record, NOW) == "a->b 5m ago (NodeNotReady, 1.4 s)"
    assert [age(datetime.timedelta(seconds=s)) for s in (5, 75, 7300, 200000)] == [
        "5s",
        "1m",
        "2h",
        "2d",
    ]
