"""The transport and probe signals on 127.0.0.1: a closed port is reported refused within a
round, an unanswered OPTIONS counts as a failed probe, an answer clears both."""

import socket
import time

from sippy.SipRequest import SipRequest

from samu_keeper.probe import Prober


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_closed_port_is_a_transport_error_at_the_next_round():
    prober = Prober()
    address = ("127.0.0.1", closed_port())
    try:
        assert prober.round({address}) == {address: ("", 0)}
        time.sleep(0.05)  # the kernel's port-unreachable comes back
        error, _ = prober.round({address}, send=False)[address]
        assert "refused" in error.lower()
    finally:
        prober.close()


def test_a_silent_pbx_fails_probes_and_an_answer_clears_them():
    pbx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    pbx.bind(("127.0.0.1", 0))
    pbx.settimeout(1)
    address = pbx.getsockname()
    prober = Prober()
    try:
        prober.round({address})
        prober.round({address})
        assert prober.round({address})[address] == ("", 2)  # two OPTIONS left unanswered
        data, source = pbx.recvfrom(65535)
        request = SipRequest(data.decode())
        assert request.getMethod() == "OPTIONS"
        pbx.sendto(str(request.genResponse(200, "OK")).encode(), source)
        time.sleep(0.05)
        assert prober.round({address}, send=False)[address] == ("", 0)
    finally:
        prober.close()
        pbx.close()
