"""Planned switchover (maintenance night): the operator promotes the standby, renders the
list and reloads the edge at run time while calls flow; not one call set-up fails."""

import time

import pytest

from tests.edge.conftest import Lab, tenant_doc

pytestmark = pytest.mark.sip


def test_planned_switchover_through_rendered_list_and_reload(lab: Lab) -> None:
    zone_a = lab.add_pbx("samu-30", "a")
    zone_b = lab.add_pbx("samu-30", "b")
    before = [tenant_doc("30", numbers=["+33466000015"], active="a", epoch=4)]
    lab.start(before)
    caller = lab.caller(number="+33466000015").start(rate=50, calls=150, hold_ms=500)
    time.sleep(1.2)

    promoted = [tenant_doc("30", numbers=["+33466000015"], active="b", epoch=5)]
    switched_at = time.time()
    result = lab.apply(promoted)
    reloaded_at = time.time()
    run = caller.wait(timeout=30)

    assert result.changed and result.reload_seconds < 1.0, result
    assert [d.zone for d in result.table.route_of("samu-30").destinations] == ["b", "a"]
    assert run.failed_setups == 0, run.log
    assert [c for c in run.calls if c.result != "ok"] == []
    before_calls = [c for c in run.calls if c.answer < switched_at]
    after_calls = [c for c in run.calls if c.start > reloaded_at]
    assert before_calls and all(c.pbx == "samu-30-a" for c in before_calls)
    assert after_calls and all(c.pbx == "samu-30-b" for c in after_calls)

    # The old active is then fenced: it leaves the list, it is not even probed any more.
    fenced = [
        tenant_doc("30", numbers=["+33466000015"], active="b", epoch=5, roles={"a": "fenced"})
    ]
    assert lab.apply(fenced).changed
    assert list(lab.edge.dispatcher_flags()) == [zone_b.uri]
    assert zone_a.uri not in lab.edge.files.dispatcher.read_text()
    run = lab.caller(number="+33466000015").run(rate=20, calls=10)
    assert run.failed_setups == 0 and run.by_pbx() == {"samu-30-b": 10}
    # Same tenants again: nothing to write, nothing to reload.
    assert not lab.apply(fenced).changed
