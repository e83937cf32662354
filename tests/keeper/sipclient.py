"""In-dialog requests on a kept call's carrier leg, built by sippy from the call's Redis
record: what Kamailio relays to a live keeper when the caller's keeper is dead (the edge
is not in these tests)."""

import socket

from sippy.SipCallId import SipCallId
from sippy.SipFrom import SipFrom
from sippy.SipRequest import SipRequest
from sippy.SipResponse import SipResponse
from sippy.SipTo import SipTo
from sippy.SipURL import SipURL

from samu_keeper.core.call_state import CallState
from tests.edge.harness import HOST


def send_in_dialog(state: CallState, method: str, keeper_port: int, cseq: int) -> int:
    """Sends ``method`` as the caller would in the call's carrier dialog to the keeper at
    ``keeper_port``; returns the final response's status code (0: no answer in 3 s)."""
    leg = state.carrier
    fr0m = SipFrom(body=leg.remote_uri)  # the caller's side: the keeper's remote
    fr0m.parse()
    to = SipTo(body=leg.local_uri)
    to.parse()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((HOST, 0))
        sock.settimeout(3.0)
        local = sock.getsockname()
        request = SipRequest(
            method=method,
            ruri=SipURL(url=f"sip:k@{HOST}:{keeper_port}"),
            fr0m=fr0m,
            to=to,
            callid=SipCallId(body=leg.call_id),
            cseq=cseq,
            target=(HOST, keeper_port),
        )
        sock.sendto(request.localStr(((local[0], local[1]), "udp")).encode(), (HOST, keeper_port))
        while True:
            try:
                data, _ = sock.recvfrom(65535)
            except TimeoutError:
                return 0
            code = SipResponse(data.decode()).getSCode()[0]
            if code >= 200:
                return code
