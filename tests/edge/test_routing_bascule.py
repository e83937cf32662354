"""The bascule's routing tables (pure): the old platform's trunks and the secours numbers as
dispatcher sets and routing rows, a flip that rewrites the routing map only, and calls in
progress whose entry set keeps every destination they may be on."""

import copy
from typing import Any

from samu_operator.core.routing import build_routing
from tests.edge.conftest import tenant_doc

TRUNKS = ["sips:sbc1.crra30.example.fr:5061", "sip:10.30.9.2:5061;transport=tls"]
SECOURS = [{"number": "+33466000099"}, {"number": "+33467000099"}]


def _legacy(mode: str, fallbacks: list[str] | None = None, **kw: Any) -> dict[str, Any]:
    doc = tenant_doc("30", numbers=["+33466000015"], **kw)
    doc["spec"]["routing"] = {"mode": mode, "legacy": {"trunks": TRUNKS}, "secours": SECOURS}
    if fallbacks is not None:
        doc["spec"]["routing"]["fallbacks"] = fallbacks
    return doc


def _sets(text: str) -> dict[int, list[tuple[str, int, str]]]:
    """set id -> (uri, priority, role) of its enabled lines, in file order."""
    out: dict[int, list[tuple[str, int, str]]] = {}
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        set_id, uri, flags, priority, attrs = line.split()
        if flags == "0":
            role = dict(kv.split("=") for kv in attrs.split(";"))["role"]
            out.setdefault(int(set_id), []).append((uri, int(priority), role))
    return out


def _rows(docs: list[dict[str, Any]]) -> dict[str, str | int]:
    return dict(build_routing(docs).routing_rows())


PBX_A = "sip:pbx-a.samu-30.svc.cluster.local:5060"
PBX_B = "sip:pbx-b.samu-30.svc.cluster.local:5060"


def test_legacy_mode_enters_the_legacy_first_set_trunks_then_its_pbx() -> None:
    doc = _legacy("legacy", ["platform", "legacy", "secours"])
    table = build_routing([doc])
    sets = _sets(table.dispatcher_list())
    assert sets[1030] == [
        (TRUNKS[0], 200, "legacy"),
        (TRUNKS[1], 199, "legacy"),
        (PBX_A, 100, "active"),
        (PBX_B, 90, "standby"),
    ]
    # platform first, the trunks behind: where calls enter once flipped (legacy is a fallback)
    assert sets[2030] == [
        (PBX_A, 100, "active"),
        (PBX_B, 90, "standby"),
        (TRUNKS[0], 20, "legacy"),
        (TRUNKS[1], 19, "legacy"),
    ]
    assert sets[30] == [(PBX_A, 100, "active"), (PBX_B, 90, "standby")]
    rows = dict(table.routing_rows())
    assert rows["n+33466000015"] == 1030 and rows["d30"] == 1030
    assert {rows[f"t{s}"] for s in (30, 1030, 2030)} == {"samu-30"}
    assert {rows[f"e{s}"] for s in (30, 1030, 2030)} == {"+33466000099,+33467000099"}
    assert table.route_of("samu-30").chain == ("legacy", "platform", "secours")


def test_legacy_mode_without_platform_fallback_tries_the_trunks_only() -> None:
    sets = _sets(build_routing([_legacy("legacy", ["secours"])]).dispatcher_list())
    assert [role for _, _, role in sets[1030]] == ["legacy", "legacy"]


def test_flip_rewrites_the_routing_map_only_and_keeps_every_set_of_calls_in_progress() -> None:
    partner = tenant_doc("34", numbers=["+33467000015"], partner="samu-30")
    before = build_routing([_legacy("legacy", ["platform", "legacy", "secours"]), partner])
    after = build_routing([_legacy("platform", ["platform", "legacy", "secours"]), partner])
    # One table and one reload: the dispatcher list (and the probes' state) stays as it is,
    # so a call that entered set 1030 before the flip still finds its trunk there.
    assert after.dispatcher_list() == before.dispatcher_list()
    old, new = dict(before.routing_rows()), dict(after.routing_rows())
    changed = {k for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
    assert changed == {"n+33466000015", "d30", "o34"}
    assert new["n+33466000015"] == 2030 and new["d30"] == 2030
    # the partner's débordement follows the flip; its next-hop check (p) covers both sides
    assert old["o34"] == 1030 and new["o34"] == 2030
    assert old["p34"] == new["p34"] == 2030


def test_after_the_flip_without_legacy_fallback_calls_enter_the_pbx_set() -> None:
    rows = _rows([_legacy("platform", ["platform", "secours"])])
    assert rows["n+33466000015"] == 30 and rows["d30"] == 30
    # the legacy sets stay until routing.legacy goes: calls in progress name them
    assert rows["t1030"] == rows["t2030"] == "samu-30"


def test_bascule_sets_follow_a_failover() -> None:
    before = build_routing([_legacy("legacy", ["platform", "legacy", "secours"])])
    doc = _legacy("legacy", ["platform", "legacy", "secours"], active="b", epoch=2)
    doc["status"]["pbx"][0].update(role="down", ready=False)
    after = _sets(build_routing([doc]).dispatcher_list())
    assert [uri for uri, _, _ in after[1030]] == [*TRUNKS, PBX_B]
    assert [uri for uri, _, _ in after[2030]] == [PBX_B, *TRUNKS]
    assert after[1030] != _sets(before.dispatcher_list())[1030]


def test_no_live_pbx_and_no_partner_keeps_the_last_resort_in_the_bascule_sets() -> None:
    doc = _legacy("legacy", ["platform", "legacy", "secours"], ready={"a": False, "b": False})
    sets = _sets(build_routing([doc]).dispatcher_list())
    assert [(uri, p) for uri, p, _ in sets[1030]][2:] == [(PBX_A, 100), (PBX_B, 1)]
    assert [(uri, p) for uri, p, _ in sets[2030]][:2] == [(PBX_A, 100), (PBX_B, 1)]


def test_tenant_without_old_platform_or_secours_gets_the_tables_it_always_had() -> None:
    doc = tenant_doc("30", numbers=["+33466000015"], partner="samu-34")
    doc["spec"].pop("routing", None)
    partner = tenant_doc("34")
    partner["spec"].pop("routing", None)
    table = build_routing([doc, partner])
    assert set(_sets(table.dispatcher_list())) == {30, 34}
    rows = dict(table.routing_rows())
    assert not [k for k in rows if k[0] == "e" or (k[1:].isdigit() and int(k[1:]) >= 1000)]
    assert rows["o30"] == rows["p30"] == 34 and rows["a30"] == 30000


def test_secours_number_of_a_platform_tenant_is_warned() -> None:
    doc = _legacy("platform")
    neighbour = tenant_doc("34", numbers=["+33467000099"])
    warnings = build_routing([doc, neighbour]).warnings
    assert any(
        "secours number +33467000099 is samu-platform's own (samu-34)" in w for w in warnings
    )


def test_legacy_addresses_override_for_labs() -> None:
    doc = _legacy("legacy")
    table = build_routing([doc], addresses={"samu-30/legacy-1": "sip:127.0.0.1:5099"})
    assert table.route_of("samu-30").legacy_trunks[0].uri == "sip:127.0.0.1:5099"
    assert "1030 sip:127.0.0.1:5099 0 200 duid=samu-30-legacy-1;role=legacy" in (
        table.dispatcher_list()
    )


def test_rendering_does_not_change_the_documents() -> None:
    doc = _legacy("legacy", ["platform", "legacy", "secours"])
    kept = copy.deepcopy(doc)
    build_routing([doc])
    assert doc == kept
