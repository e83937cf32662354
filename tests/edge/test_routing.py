"""The routing table decided from the tenants (pure: no Kamailio needed)."""

import pytest

from samu_operator.core.routing import (
    DEFAULT_ADDRESS_TEMPLATE,
    FLAG_DISABLED,
    RoutingError,
    build_routing,
    set_id_for,
)
from tests.edge.conftest import tenant_doc


def _lines(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines() if not line.startswith("#")]


def test_active_of_current_epoch_first_then_standbys_in_promotion_order() -> None:
    doc = tenant_doc("30", zones=("a", "b", "c"), active="b", epoch=7)
    doc["spec"]["failover"]["preferredZones"] = ["c", "a", "b"]
    table = build_routing([doc])
    lines = _lines(table.dispatcher_list())
    assert [(line[0], line[1], line[2], line[3]) for line in lines] == [
        ("30", "sip:pbx-b.samu-30.svc.cluster.local:5060", "0", "100"),
        ("30", "sip:pbx-c.samu-30.svc.cluster.local:5060", "0", "90"),
        ("30", "sip:pbx-a.samu-30.svc.cluster.local:5060", "0", "80"),
    ]
    assert lines[0][4] == "duid=samu-30-b;zone=b;role=active"
    assert "# samu-30 epoch 7" in table.dispatcher_list()


def test_fenced_and_stale_active_left_out_dead_disabled() -> None:
    doc = tenant_doc(
        "30",
        zones=("a", "b", "c"),
        active="c",
        epoch=3,
        roles={"a": "fenced", "b": "active", "c": "active"},
    )
    doc["spec"]["pbx"]["zones"] = ["a", "b", "c"]
    doc["status"]["pbx"].append({"zone": "d", "role": "down", "ready": False})
    doc["status"]["pbx"][1]["epoch"] = 2  # b is the active of an older epoch
    route = build_routing([doc]).route_of("samu-30")
    assert [(d.zone, d.disabled) for d in route.destinations] == [("c", False), ("d", True)]
    assert dict(route.left_out) == {"a": "fenced", "b": "stale active, not epoch 3"}
    text = build_routing([doc]).dispatcher_list()
    assert "pbx-a." not in text.replace("# left out: a", "")
    assert f"pbx-d.samu-30.svc.cluster.local:5060 {FLAG_DISABLED} 0" in text


def test_not_ready_standby_and_active_are_disabled_not_probed() -> None:
    doc = tenant_doc("30", ready={"a": False, "b": False}, partner="samu-34")
    route = build_routing([doc, tenant_doc("34")]).route_of("samu-30")
    assert [(d.zone, d.disabled, d.reason) for d in route.destinations] == [
        ("a", True, "active not ready"),
        ("b", True, "not ready"),
    ]
    assert route.live == ()
    assert "samu-30: no live PBX" in build_routing([doc, tenant_doc("34")]).warnings[0]


def test_without_partner_no_call_is_refused_on_the_status_alone() -> None:
    doc = tenant_doc("30", ready={"a": False, "b": False}, roles={"b": "standby"})
    doc["status"]["pbx"].append({"zone": "c", "role": "fenced", "ready": True})
    table = build_routing([doc])
    route = table.route_of("samu-30")
    assert [(d.zone, d.disabled, d.priority) for d in route.destinations] == [
        ("a", False, 100),
        ("b", False, 1),
    ]
    assert "last resort" in table.warnings[0]
    assert dict(route.left_out) == {"c": "fenced"}


def test_routing_map_numbers_departments_partner_and_overflow_delay() -> None:
    table = build_routing(
        [
            tenant_doc("2A", numbers=["+33495000015"], partner="samu-30"),
            tenant_doc("30", numbers=["+33466000015", "+33466000115"], partner="samu-40"),
        ]
    )
    rows = table.routing_rows()
    assert ("n+33495000015", 201) in rows and ("d2A", 201) in rows and ("t201", "samu-2a") in rows
    assert ("o201", 30) in rows and ("a201", 30000) in rows
    assert ("n+33466000115", 30) in rows and ("d30", 30) in rows
    assert not any(key == "o30" for key, _ in rows)  # partner samu-40 does not exist
    assert any("samu-40" in w for w in table.warnings)
    text = table.routing_map()
    assert text.splitlines()[0].startswith("key_name(str) key_type(int)")
    assert "n+33495000015:0:1:201:0" in text and "t201:0:0:samu-2a:0" in text


def test_db_text_separator_is_escaped() -> None:
    doc = tenant_doc("30", partner="samu-34")
    table = build_routing([doc, tenant_doc("34")], address_template=DEFAULT_ADDRESS_TEMPLATE)
    for line in table.routing_map().splitlines()[1:]:
        assert line.replace("\\:", "").count(":") == 4


def test_explicit_addresses_win_over_status_and_template() -> None:
    doc = tenant_doc("30")
    doc["status"]["pbx"][1]["address"] = "sip:10.1.2.3:5060"
    route = build_routing([doc], addresses={"samu-30/a": "sip:127.0.0.1:5999"}).route_of("samu-30")
    assert [d.uri for d in route.destinations] == ["sip:127.0.0.1:5999", "sip:10.1.2.3:5060"]


def test_tenant_without_status_has_no_pbx_and_overflows() -> None:
    doc = tenant_doc("30", partner="samu-34")
    del doc["status"]
    table = build_routing([doc, tenant_doc("34")])
    assert table.route_of("samu-30").destinations == ()
    assert ("o30", 34) in table.routing_rows()


def test_a_number_claimed_twice_is_refused_naming_both_tenants() -> None:
    with pytest.raises(
        RoutingError, match=r"samu-34: number \+33466000015 is already routed to samu-30"
    ):
        build_routing(
            [tenant_doc("30", numbers=["+33466000015"]), tenant_doc("34", numbers=["+33466000015"])]
        )


def test_bad_spec_is_refused_naming_the_field() -> None:
    doc = tenant_doc("30")
    doc["spec"]["department"] = "ZZ"
    with pytest.raises(RoutingError, match=r"samu-30: spec\.department"):
        build_routing([doc])
    with pytest.raises(RoutingError, match=r"metadata\.name"):
        build_routing([{"spec": {}}])


@pytest.mark.parametrize(
    ("dept", "set_id"), [("01", 1), ("30", 30), ("2a", 201), ("2B", 202), ("974", 974)]
)
def test_set_ids_are_stable_per_departement(dept: str, set_id: int) -> None:
    assert set_id_for(dept) == set_id


def test_examples_render(repo) -> None:
    import yaml

    docs = [
        yaml.safe_load(p.read_text())
        for p in sorted((repo / "helm" / "samu-operator" / "examples").glob("*.yaml"))
    ]
    table = build_routing(docs)
    assert {r.tenant for r in table.routes} == {"samu-13", "samu-2a", "samu-30", "samu-974"}
    assert all(r.destinations == () for r in table.routes)  # no status yet: nothing live
