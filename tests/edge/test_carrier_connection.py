"""Requests towards the caller go back over the connection the carrier opened.

On the cluster the carrier's TLS connection reaches the edge pod from an Octavia amphora (TCP
passthrough), never from the carrier's Contact, and the edge may not open connections of its
own towards the carrier. Here: the real Kamailio with the chart's config, the carrier over TLS
through a byte relay bound to 127.0.0.2, its Contact on 127.0.0.3 (a listener that records any
connection the edge would open there), and a PBX on UDP.
"""

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.edge.carrier import AMPHORA, Amphora, Listener, TlsCarrier, UdpPbx, header
from tests.edge.conftest import Lab, tenant_doc
from tests.edge.harness import HOST, free_port, wait_for
from tests.edge.tls import NEEDS_TLS, self_signed, tls_config

pytestmark = [pytest.mark.sip, *NEEDS_TLS]

FLOATING_IP = "192.0.2.10"  # the SIP edge LB's address, advertised on the TLS socket only
NUMBER = "+33466000015"


class CarrierPath:
    """The edge with the chart's socket layout, its PBX, the amphora and the carrier."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        key, cert = self_signed(lab.workdir)
        tls_cfg = tls_config(lab.workdir, key, cert)
        tls_port = free_port()
        lab.edge.defines.update(
            {
                "WITH_TLS": "",
                "EDGE_SIP_LISTEN_TLS": f"tls:{HOST}:{tls_port} advertise {FLOATING_IP}:5061",
                "EDGE_TLS_CONFIG": f'"{tls_cfg}"',
                "EDGE_PROBE_THRESHOLD": "1",  # (b) waits for the probes: keep it short
            }
        )
        self.pbx = {zone: UdpPbx() for zone in ("a", "b")}
        for zone, pbx in self.pbx.items():
            lab.addresses[f"samu-30/{zone}"] = pbx.uri
        lab.start([tenant_doc("30", numbers=[NUMBER])])
        self.amphora = Amphora(tls_port)
        self.carrier = TlsCarrier(self.amphora, Path(cert))

    def stop(self) -> None:
        self.carrier.close()
        self.amphora.close()
        for pbx in self.pbx.values():
            pbx.stop()

    def connections_from_amphora(self) -> int:
        """TCP/TLS connections Kamailio holds from the amphora's address."""
        listed = self.lab.edge.rpc.call("core.tcp_list") or []
        if isinstance(listed, dict):
            listed = [listed]
        return sum(1 for c in listed if c.get("src_ip") == AMPHORA)


@pytest.fixture
def path(lab: Lab) -> Iterator[CarrierPath]:
    path = CarrierPath(lab)
    try:
        yield path
    finally:
        path.stop()


def pbx_refresh(path: CarrierPath, call_id: str) -> str:
    """The PBX's re-INVITE, answered by the carrier on its connection; the PBX's final reply."""
    pbx = path.pbx["a"]
    result: list[str] = []
    thread = threading.Thread(
        target=lambda: result.append(pbx.refresh(call_id, path.lab.edge.sip_port)), daemon=True
    )
    thread.start()
    invite = path.carrier.receive()
    assert invite.startswith("INVITE sip:0466000001@127.0.0.3"), invite
    path.carrier.answer(invite)
    thread.join(timeout=15)
    assert result, "the PBX got no final reply to its re-INVITE"
    ack = path.carrier.receive()
    assert ack.startswith("ACK sip:0466000001@127.0.0.3"), ack
    return result[0]


def test_the_arms_bye_reaches_the_caller_over_the_carriers_own_connection(
    path: CarrierPath,
) -> None:
    dialog = path.carrier.call(NUMBER)
    pbx = path.pbx["a"]
    # the PBX got the caller's Contact with the connection it came over (amphora ip~port~tls)
    (ip, port) = path.amphora.upstream[0]
    assert f";alias={ip}~{port}~3" in pbx.caller_contact(dialog.call_id)

    # the caller refreshes its target (re-INVITE): its new Contact, as the PBX stores it, keeps
    # the way back
    assert path.carrier.refresh(dialog).startswith("SIP/2.0 200")
    assert f";alias={ip}~{port}~3" in pbx.targets[dialog.call_id]
    # a session refresh from the PBX: over the same connection, and the carrier's new target
    # (its 200 OK's Contact) keeps the way back
    refresh = pbx_refresh(path, dialog.call_id)
    assert refresh.startswith("SIP/2.0 200"), refresh
    assert f";alias={ip}~{port}~3" in header(refresh, "Contact")

    pbx.hang_up(dialog.call_id, path.lab.edge.sip_port)
    bye = path.carrier.receive()
    assert bye.startswith(f"BYE sip:0466000001@127.0.0.3:{path.carrier.contact.port};"), bye
    assert "alias=" not in bye.split("\r\n", 1)[0], "the carrier gets its own Contact back"
    path.carrier.answer(bye)
    assert pbx.final_reply(dialog.call_id, "BYE").startswith("SIP/2.0 200")
    assert path.carrier.contact.accepted == [], "the edge opened a connection of its own"
    assert path.connections_from_amphora() == 1
    assert held_calls(path) == [], "the ARM's BYE ends the call's record at the edge"
    # and Kamailio never closes an idle trunk before the LB's 1 h idle timeout would
    assert path.lab.edge.rpc.call("core.tcp_options")["connection_lifetime"] >= 3600


def test_the_edges_bye_for_a_dead_pbx_reaches_the_caller_over_its_connection(
    path: CarrierPath,
) -> None:
    lab = path.lab
    lab.sync.confirm_seconds = 0.0
    dialog = path.carrier.call(NUMBER)
    path.pbx["a"].silent = True  # the zone is gone: probes and calls unanswered

    records = dead_pbx_records(path)  # the operator's path: records, then BYE
    assert [r["callId"] for r in records] == [dialog.call_id]
    bye = path.carrier.receive()
    assert bye.startswith(f"BYE sip:0466000001@127.0.0.3:{path.carrier.contact.port}"), bye
    assert header(bye, "Call-ID") == dialog.call_id
    path.carrier.answer(bye)
    assert path.carrier.contact.accepted == [], "the edge opened a connection of its own"


def test_a_lost_carrier_connection_fails_at_once_is_counted_and_never_reopened(
    path: CarrierPath,
) -> None:
    lab = path.lab
    dialog = path.carrier.call(NUMBER)
    (ip, port) = path.amphora.upstream[0]
    path.amphora.drop()  # the LB lost the connection
    wait_for(lambda: path.connections_from_amphora() == 0, 10, "Kamailio to see it closed")
    # anything the edge would connect to now: the alias's address and the carrier's Contact
    alias = Listener((ip, port))
    try:
        started = time.monotonic()
        path.pbx["a"].hang_up(dialog.call_id, lab.edge.sip_port)
        reply = path.pbx["a"].final_reply(dialog.call_id, "BYE")
        elapsed = time.monotonic() - started
        time.sleep(0.5)  # room for a (wrong) connection attempt to show
        assert alias.accepted == [] and path.carrier.contact.accepted == []
    finally:
        alias.close()
    assert reply.startswith("SIP/2.0 477"), reply  # tm: could not send to the next hop
    assert elapsed < 3.5, f"the PBX waited {elapsed:.1f}s (the carrier's timer is 4 s)"
    assert 'samu_edge_carrier_unreachable_total{samu="samu-30"} 1' in lab.metrics()
    assert any(
        m.startswith("SAMU-CARRIER-UNREACHABLE BYE of samu-30") for m in lab.edge.log_messages()
    )


def dead_pbx_records(path: CarrierPath, timeout: float = 15.0) -> list[dict]:
    """What the operator's sync records (and ends) once the PBX is seen dead: polled as the
    sidecar does, until the first records come."""
    records: list[dict] = []
    deadline = time.monotonic() + timeout
    while not records and time.monotonic() < deadline:
        records += path.lab.sync.collect_dropped()
        time.sleep(0.2)
    return records


def held_calls(path: CarrierPath) -> list[str]:
    """The Call-IDs of the answered calls the edge holds (its htable ``calls``)."""
    return [call.call_id for call in path.lab.sync.answered_calls()]


def test_the_edges_own_bye_never_opens_a_connection_when_the_carriers_is_gone(
    path: CarrierPath,
) -> None:
    lab = path.lab
    lab.sync.confirm_seconds = 0.0
    dialog = path.carrier.call(NUMBER)
    (ip, port) = path.amphora.upstream[0]
    wait_for(lambda: held_calls(path) == [dialog.call_id], 10, "the edge to hold the call")
    path.amphora.drop()  # the LB lost the carrier's connection
    wait_for(lambda: path.connections_from_amphora() == 0, 10, "Kamailio to see it closed")
    alias = Listener((ip, port))  # where the BYE over a new connection would land
    try:
        path.pbx["a"].silent = True  # the zone is gone: the operator records and ends its calls
        records = dead_pbx_records(path)
        assert [r["callId"] for r in records] == [dialog.call_id]
        # the operator sent the BYE, then forgot the call; give a (wrong) connection attempt
        # for the BYE time to show
        wait_for(lambda: held_calls(path) == [], 10, "the edge to forget the call")
        time.sleep(0.5)
        assert alias.accepted == [], "the edge opened a connection to the alias's address"
        assert path.carrier.contact.accepted == [], "the edge opened a connection to the Contact"
    finally:
        alias.close()
    # the call is on record for call-back, the BYE that was not sent is counted and logged
    assert dialog.call_id in lab.edge.files.dropped.read_text()
    assert 'samu_edge_carrier_unreachable_total{samu="samu-30"} 1' in lab.metrics()
    assert any(
        m.startswith("SAMU-CARRIER-UNREACHABLE edge's own BYE of samu-30")
        for m in lab.edge.log_messages()
    )
    # and the edge keeps serving: the carrier's new connection, a new call, to the standby
    carrier = TlsCarrier(path.amphora, path.carrier.cafile)
    try:
        again = carrier.call(NUMBER)
        assert again.call_id in path.pbx["b"].invites
    finally:
        carrier.close()
