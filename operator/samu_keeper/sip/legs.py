"""A sippy user agent's dialog as the replicated ``Leg``, and back: a connected user agent
rebuilt from a record, so that a peer keeper goes on with a call it never saw set up."""

from typing import Any

from sippy.MsgBody import MsgBody
from sippy.SipCallId import SipCallId
from sippy.SipContact import SipContact
from sippy.SipFrom import SipFrom
from sippy.SipRecordRoute import SipRecordRoute
from sippy.SipTo import SipTo
from sippy.SipURL import SipURL
from sippy.UA import UA
from sippy.UaStateConnected import UaStateConnected

from samu_keeper.core.call_state import Leg


def leg_of(ua: UA) -> Leg:
    """The dialog identifiers of a connected user agent (local = the keeper's side)."""
    return Leg(
        call_id=str(ua.cId),
        local_tag=str(ua.lUri.getTag()),
        remote_tag=str(ua.rUri.getTag()),
        local_cseq=int(ua.lCSeq),
        remote_cseq=int(ua.rCSeq or 0),
        remote_target=str(ua.rTarget),
        route_set=tuple(str(route) for route in ua.routes or ()),
        local_uri=str(ua.lUri),
        remote_uri=str(ua.rUri),
    )


def _parsed(header: Any) -> Any:
    header.parse()
    return header


def next_hop(ua: UA) -> Any:
    """Where the UA sends in-dialog requests: its first Route if any (loose routing), else its
    remote target (as sippy decides it for a dialog it set up itself)."""
    if ua.routes:
        return ua.routes[0].getUrl().getTAddr()
    return ua.rTarget.getTAddr()


def connected_ua(
    global_config: dict[str, Any],
    leg: Leg,
    contact: SipContact,
    local_sdp: str,
    remote_sdp: str,
    event_cb: Any,
    kind: type[UA] = UA,
) -> UA:
    """A user agent in the Connected state for ``leg``, registered for its in-dialog requests."""
    ua = kind(global_config, event_cb=event_cb, ltag=leg.local_tag)
    ua.cId = SipCallId(body=leg.call_id)
    ua.lUri = _parsed(SipFrom(body=leg.local_uri))
    ua.rUri = _parsed(SipTo(body=leg.remote_uri))
    ua.lCSeq = leg.local_cseq
    ua.rCSeq = leg.remote_cseq or None
    ua.rTarget = SipURL(url=leg.remote_target)
    # sippy keeps a dialog's route set as Record-Route bodies (it sends them as Route)
    ua.routes = [_parsed(SipRecordRoute(body=route)) for route in leg.route_set]
    ua.rAddr = ua.rAddr0 = next_hop(ua)
    ua.lContact = contact
    ua.lSDP = MsgBody(local_sdp) if local_sdp else None
    ua.rSDP = MsgBody(remote_sdp) if remote_sdp else None
    global_config["_sip_tm"].regConsumer(ua, leg.call_id)
    ua.changeState((UaStateConnected,))
    return ua
