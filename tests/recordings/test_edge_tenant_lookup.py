"""A running edge call's chunks go straight to its tenant's container: the shipper asks the
edge's Kamailio (chart config, real) for its record of the answered call, instead of waiting for
rtpengine's metadata at the call's end (then a server-side copy per chunk)."""

import pytest

from samu_lab.calldrill import drill_tenant
from samu_lab.media import MediaCaller, add_audio_pbx
from samu_recordings.core import naming
from samu_recordings.core.edgecalls import tenant_and_caller
from tests.edge.conftest import lab  # noqa: F401  (the real Kamailio + rtpengine lab)
from tests.recordings.harness import ShipperThread, objects, shipper_env, wait_for
from tests.recordings.test_edge_recording import caller_markers, wait_recorded

pytestmark = [pytest.mark.sip, pytest.mark.timeout(300)]
TENANT = naming.container_name("samu-30")
#: an item as the edge chart's kamailio.cfg writes it (htable "calls", read over RPC)
ITEM = (
    "sip:127.0.0.1:33704|1796693115|6089pbx1|samu-30|sip:04661@127.0.0.1:49059|6122c1|"
    "sip:15@127.0.0.1:49769|<null>|<sip:04661@127.0.0.1:49059;transport=UDP>"
)


def test_the_edges_call_record_names_tenant_and_caller():
    assert tenant_and_caller(ITEM) == ("samu-30", "04661")
    assert tenant_and_caller("sip:x|1|tag") is None  # not one the edge wrote
    assert tenant_and_caller(ITEM.replace("samu-30", "../etc")) is None


def _edge_chunks(swift, container: str, call_id: str) -> list[str]:
    return [n for n in objects(swift, container, "calls/") if call_id in n and "/edge-" in n]


def test_a_running_calls_chunks_go_to_its_tenants_container(swift, lab, tmp_path):  # noqa: F811
    tenant = drill_tenant()
    for zone in tenant["spec"]["pbx"]["zones"]:
        add_audio_pbx(lab, "samu-30", zone)
    lab.start([tenant])
    env = shipper_env(
        swift, tmp_path, SAMU_SHIPPER_SPOOL=str(lab.rtpengine.spool),
        SAMU_SHIPPER_EDGE_RPC=lab.edge.rpc.url,
    )  # fmt: skip
    with ShipperThread(env):
        caller = MediaCaller(lab).start(calls=1, hold_ms=7000, seconds=7)
        wait_for("the call's answer", caller.calls, 20)
        [call] = caller.calls()
        # while the call lasts (7 s from its answer): its chunks are in the tenant's container
        wait_for(
            "chunks in the tenant's container",
            lambda: len(_edge_chunks(swift, TENANT, call.call_id)) >= 2,
            5,
        )
        assert caller.proc.poll() is None, "the call is still up"
        assert not _edge_chunks(swift, naming.INFLIGHT_CONTAINER, call.call_id)
        assert caller.wait() == 0
        entry = wait_recorded(swift, call.call_id)  # indexed in the tenant's container
    assert entry.tenant == "samu-30" and entry.caller.startswith("0466")
    assert caller_markers(swift, entry)[:6] == [0, 1, 2, 3, 4, 5]
    assert not _edge_chunks(swift, naming.INFLIGHT_CONTAINER, call.call_id)
