"""Record-Route through the carrier's SIP-TLS path, with the Kamailio listeners exactly as the
chart renders them from the Pulumi program's values (sip.advertise = the SIP edge LB's floating
IP): a real Kamailio and a SIPp PBX on loopback, the carrier speaking TLS as through the LB.

The SIP edge LB forwards only TLS on 5061. So every Record-Route entry naming the LB's address
must be 5061 over TLS: the carrier's in-dialog requests follow the last entries, the PBX's
(an ARM hanging up sends the BYE) follow the first ones.
"""

import re
import shutil
from pathlib import Path

import pytest

from samu_infra.edge import release_values
from samu_infra.stackfile import parse_config
from tests.helm.charts import EDGE_CHART, render
from tests.infra.stackgen import REPO, stack_doc

pytestmark = pytest.mark.sip

ADVERTISE = "192.0.2.10"  # the floating IP, as the program passes it to the chart
HOST = "127.0.0.1"


def _chart_listeners(sip: int, tls: int) -> dict[str, str]:
    """The chart's EDGE_SIP_LISTEN* for the dev stack, bound to loopback test ports (loopback
    plays the pod's address, $(POD_IP)); the advertised address and ports stay as rendered."""
    cfg = parse_config(stack_doc("dev")["config"], "dev", REPO)
    pod = render(EDGE_CHART, release_values(cfg, ADVERTISE)).one("Deployment")
    (kamailio,) = [
        c for c in pod["spec"]["template"]["spec"]["containers"] if c["name"] == "kamailio"
    ]
    args = kamailio["args"]
    defines = dict(args[i + 1].partition("=")[::2] for i, a in enumerate(args) if a == "-A")
    out = {}
    for name, value in defines.items():
        if name.startswith("EDGE_SIP_LISTEN"):
            port = tls if name.endswith("TLS") else sip
            bound = re.sub(r"^(\w+):\$\(POD_IP\):\d+", rf"\1:{HOST}:{port}", value)
            assert bound != value, f"{name}={value}: not bound to the pod's address"
            out[name] = bound
    return out


def _record_route(answer: str) -> list[str]:
    """The Record-Route entries of a reply, in order (as the PBX received them)."""
    entries: list[str] = []
    for line in answer.split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().lower() in ("record-route", "rr"):
            entries += re.findall(r"<([^>]+)>", value)
    return entries


@pytest.fixture
def answer(tmp_path: Path) -> str:
    """A carrier call to SAMU 30 over TLS through the chart's listeners: the 200 OK."""
    from tests.edge.conftest import Lab
    from tests.edge.harness import missing_binaries
    from tests.edge.tls_lab import (
        SAMU30_NUMBER,
        carrier_connection,
        send_request,
        start_tls_edge,
    )

    missing = missing_binaries() + [b for b in ("openssl",) if shutil.which(b) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (make test installs them)")
    lab = Lab(tmp_path)
    try:
        tls_port, cert = start_tls_edge(
            lab, listeners=lambda tls: _chart_listeners(lab.edge.sip_port, tls)
        )
        with carrier_connection(tls_port, cert) as stream:
            reply = send_request(stream, "INVITE", f"sip:{SAMU30_NUMBER}@{HOST}")
        assert reply.startswith("SIP/2.0 200"), reply
        return reply
    finally:
        lab.stop()


def test_the_carriers_route_set_leads_to_the_lb_on_5061_over_tls(answer):
    route = _record_route(answer)
    assert route, answer
    # The carrier (the caller) uses the entries last to first: its next hop is the LB.
    assert route[-1].startswith(f"sip:{ADVERTISE}:5061;transport=tls;"), route


def test_no_route_entry_sends_anyone_to_the_lb_on_a_port_it_does_not_forward(answer):
    route = _record_route(answer)
    on_lb = [r for r in route if r.startswith(f"sip:{ADVERTISE}:")]
    assert on_lb and all(r.startswith(f"sip:{ADVERTISE}:5061;transport=tls;") for r in on_lb), route


def test_the_pbxs_route_set_leads_back_to_this_edge_pod(answer):
    route = _record_route(answer)
    # The PBX uses the entries first to last: its next hop is the pod's own address (loopback
    # here, $(POD_IP) in the chart), the pod that holds the call's record and the carrier's connection.
    assert re.match(rf"sip:{re.escape(HOST)}:\d+;r2=on;lr;", route[0]), route
    assert len(route) == 2, route  # double Record-Route: PBX side (UDP), carrier side (TLS)
