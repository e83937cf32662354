"""The operator as a process of its own against the emulator (what the onboarding benchmark
measures): stopped in the middle of an onboarding, it finishes and exits by itself, and none
of its requests to the emulator waits for a read timeout."""

import pytest

from samu_operator.sim.kubelet import EmulatedCluster
from samu_operator.sim.operator_process import OperatorProcess
from tests.operator.harness import apply, tenant_doc, wait_for

pytestmark = pytest.mark.e2e


async def test_stopped_mid_onboarding_it_exits_by_itself_with_no_request_timed_out(tmp_path):
    log = tmp_path / "operator.log"
    async with EmulatedCluster() as cluster:
        op = OperatorProcess(cluster.url, log=log, verbose=True)
        op.start()
        try:
            # Ready: it watches tenants (Kopf logs each watch it starts, in verbose mode).
            await wait_for(lambda: "samutenants" in log.read_text(), 30, "the operator's watch")
            for department in ("30", "13", "34", "84", "83", "06"):
                await apply(cluster, tenant_doc(department))
            await wait_for(lambda: "Handler 'on_create'" in log.read_text(), 20, "a reconcile")
        finally:
            clean = await op.stop(timeout=20)
    text = log.read_text()
    assert "Read timed out" not in text, "a request of the stopping operator was not answered"
    assert clean, "the operator had to be killed"
