"""The bascule's preflight verdicts and plan (pure: plain documents, no API, no edge)."""

import copy
from typing import Any

import pytest

from samu_operator.bascule.checks import EdgeLine, EdgeView, Verdict, first_block, preflight
from samu_operator.bascule.plan import plan_wave
from samu_operator.bascule.wave import Wave
from samu_operator.core.desired import desired_objects
from samu_operator.core.routing import build_routing
from samu_operator.model.errors import validate_tenant
from tests.edge.conftest import tenant_doc


def _legacy(department: str = "30", **kw: Any) -> dict[str, Any]:
    doc = tenant_doc(department, numbers=[f"+33{department}6000015"], **kw)
    doc["metadata"]["generation"] = 3
    doc["status"]["observedGeneration"] = 3
    doc["spec"]["routing"] = {
        "mode": "legacy",
        "legacy": {"trunks": ["sips:sbc1.crra.example.fr:5061"]},
        "fallbacks": ["platform", "legacy", "secours"],
        "secours": [{"number": "+33466000099"}],
    }
    return doc


def _verdicts(doc: dict[str, Any], *others: dict[str, Any], **kw: Any) -> dict[str, Verdict]:
    tenants = [doc, *others]
    route = build_routing(tenants).route_of(doc["metadata"]["name"])
    results = preflight(kw.pop("direction", "run"), doc, tenants, route, **kw)
    return {r.check: r.verdict for r in results}


def test_a_ready_tenant_passes_the_api_checks_and_the_rest_cannot_be_answered() -> None:
    verdicts = _verdicts(_legacy())
    assert [c for c, v in verdicts.items() if v == Verdict.PASS] == [
        "tenant-ready",
        "standby-ready",
        "partner-ready",
        "secours-named",
    ]
    assert {c for c, v in verdicts.items() if v == Verdict.CANNOT} == {
        "pbx-probed-up",
        "positions-registered",
        "recordings-shipping",
        "test-call",
    }


def test_an_unreconciled_spec_or_a_lone_pbx_fails() -> None:
    doc = _legacy()
    doc["metadata"]["generation"] = 4
    assert _verdicts(doc)["tenant-ready"] == Verdict.FAIL
    lone = _legacy(ready={"b": False})
    assert _verdicts(lone)["standby-ready"] == Verdict.FAIL


def test_a_partner_not_ready_or_missing_fails() -> None:
    doc = _legacy(partner="samu-34")
    doc["spec"]["routing"]["fallbacks"] = ["platform", "legacy", "partner", "secours"]
    assert _verdicts(doc)["partner-ready"] == Verdict.FAIL
    partner = tenant_doc("34")
    partner["status"]["phase"] = "Degraded"
    assert _verdicts(doc, partner)["partner-ready"] == Verdict.FAIL
    partner["status"]["phase"] = "Ready"
    assert _verdicts(doc, partner)["partner-ready"] == Verdict.PASS


def test_edge_checks_read_every_edge_and_fail_when_one_sees_the_set_down() -> None:
    up = EdgeView({30: [EdgeLine("sip:x", "AP", "duid=samu-30-a;role=active")]}, "edge-0")
    down = EdgeView({30: [EdgeLine("sip:x", "IP", "duid=samu-30-a;role=active")]}, "edge-1")
    assert _verdicts(_legacy(), edges=[up])["pbx-probed-up"] == Verdict.PASS
    assert _verdicts(_legacy(), edges=[up, down])["pbx-probed-up"] == Verdict.FAIL
    trunk = EdgeView({1030: [EdgeLine("sip:t", "AP", "duid=samu-30-legacy-1;role=legacy")]}, "e")
    pbx_only = EdgeView({1030: [EdgeLine("sip:x", "AP", "duid=samu-30-a;role=active")]}, "e")
    back = {"direction": "rollback"}
    assert _verdicts(_legacy(), edges=[trunk], **back)["old-platform-probed-up"] == Verdict.PASS
    assert _verdicts(_legacy(), edges=[pbx_only], **back)["old-platform-probed-up"] == (
        Verdict.FAIL
    )


def test_waived_only_turns_cannot_check_into_waived_never_a_failure() -> None:
    doc = _legacy()
    doc["spec"]["routing"]["secours"] = []
    doc["spec"]["routing"]["fallbacks"] = ["platform"]
    waived = frozenset({"test-call", "secours-named"})
    tenants = [doc]
    results = preflight("run", doc, tenants, build_routing(tenants).route_of("samu-30"), (), waived)
    by = {r.check: r for r in results}
    assert by["test-call"].verdict == Verdict.WAIVED
    assert by["secours-named"].verdict == Verdict.FAIL
    assert first_block(results) == by["secours-named"]


@pytest.mark.parametrize("direction", ["run", "rollback"])
def test_a_flip_changes_no_object_of_the_tenant(direction: str) -> None:
    """The PBX, its Services and files are the same in both modes: a flip never restarts,
    reloads or re-labels a PBX (only the edge's routing map changes)."""
    doc = _legacy()
    other = copy.deepcopy(doc)
    other["spec"]["routing"]["mode"] = "platform"
    spec_only = [{k: v for k, v in d.items() if k != "status"} for d in (doc, other)]
    before, after = (desired_objects(validate_tenant(d)) for d in spec_only)
    assert before == after


def test_plan_names_the_partners_whose_débordement_follows() -> None:
    doc = _legacy()
    partner = tenant_doc("34", numbers=["+33467000015"], partner="samu-30")
    plan = plan_wave(Wave(wave="n1", tenants=["samu-30"]), [doc, partner], "run")
    [item] = plan.items
    assert item.partners_following == ["samu-34"]
    assert (item.entry_set_now, item.entry_set_after) == (1030, 2030)
    assert plan.rows_changed == 3  # n+33306000015, d30, o34
    back = plan_wave(Wave(wave="n1", tenants=["samu-30"]), [doc, partner], "rollback")
    assert not back.items[0].changes  # already on its old platform
