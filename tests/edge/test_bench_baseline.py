"""The benchmark's baseline (tests/benchmarks/plain_dispatcher.cfg) is a working dispatcher
proxy: bench_edge.py divides the edge's rate by its rate, so a baseline that loses calls the
edge saves would flatter the edge. Until session 5 it ran without the dispatcher's failover
flag, and every PBX reply later than 500 ms failed a call there (a 408) that the edge moved to
the standby."""

from pathlib import Path

import pytest

from tests.edge.conftest import Lab, tenant_doc
from tests.edge.harness import Kamailio

pytestmark = pytest.mark.sip

PLAIN_CFG = Path(__file__).parents[1] / "benchmarks" / "plain_dispatcher.cfg"


def test_the_plain_baseline_moves_calls_to_the_standby_when_the_active_pbx_is_silent(
    lab: Lab,
) -> None:
    lab.edge = Kamailio(lab.edge.workdir, cfg=PLAIN_CFG)
    active = lab.add_pbx("samu-30", "a")
    lab.add_pbx("samu-30", "b")
    lab.start([tenant_doc("30", numbers=["+33466000015"])])
    assert lab.caller(number="15").run(rate=10, calls=2).by_pbx() == {"samu-30-a": 2}
    # The calls start at once, before the probes (every second, 500 ms to answer) see the
    # silence: they reach the silent PBX first, time out there and go to the standby.
    active.freeze()
    run = lab.caller(number="15").run(rate=10, calls=3)
    assert run.failed_setups == 0, f"the baseline lost calls: {run.log}"
    assert run.by_pbx() == {"samu-30-b": 3}
    # it anchors every call's media as the edge does (the benchmark compares routing logic)
    assert lab.rtpengine.metric("rtpengine_sessions_total") == 5
