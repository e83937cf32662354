"""The answered calls the SIP edge holds, and the BYE that ends one whose PBX died.

The edge writes one item per answered call in its htable ``calls`` (key: Call-ID) on the
PBX's 2xx and removes it on the BYE of either side (``helm/samu-edge/files/kamailio.cfg``).
When a PBX is confirmed dead, the operator's edge sync lists the calls up on it, records each
one for call-back and sends the caller a BYE through ``tm.t_uac_start``, so that the caller
may redial at once and reach the standby. Kamailio's dialog module did this before, at about
four times the CPU per call; these few fields are all the BYE needs.

Pure functions over strings: no Kamailio, no I/O.
"""

from dataclasses import dataclass
from typing import Any

#: The fields of an item's value, in order ('|'-separated; only the last may hold a '|').
FIELDS = (
    "pbx",
    "answeredAt",
    "toTag",
    "tenant",
    "fromUri",
    "fromTag",
    "toUri",
    "source",
    "contact",
)
#: CSeq of the edge's BYE towards the caller. The caller checks it against the PBX's own
#: requests in the call (re-INVITEs, refreshes), whose CSeq the edge does not track: a value
#: above any a PBX reaches in 12 h, below the 2**31 RFC 3261 allows.
BYE_CSEQ = 2_000_000_000
#: How Kamailio prints an AVP that was never set (the source of a UDP caller).
UNSET = "<null>"


class CallRecordError(ValueError):
    """An item of the edge's ``calls`` table that cannot be read (names the field)."""


@dataclass(frozen=True)
class AnsweredCall:
    call_id: str
    pbx: str
    tenant: str
    answered_at: float | None
    from_uri: str
    from_tag: str
    to_uri: str
    to_tag: str
    #: the carrier's TCP/TLS connection (``sip:ip:port;transport=tls``); None over UDP
    source: str | None
    #: the caller's Contact header as the edge received it
    contact: str

    @property
    def caller(self) -> str | None:
        """The caller's number: the user part of its From URI."""
        return user_of(self.from_uri)


@dataclass(frozen=True)
class ByeRequest:
    """What ``tm.t_uac_start`` needs: method, R-URI, next hop ('.' for none), headers."""

    ruri: str
    nexthop: str
    headers: str

    def rpc_params(self) -> tuple[str, ...]:
        return ("BYE", self.ruri, self.nexthop, ".", self.headers)


def parse_call(call_id: str, value: str) -> AnsweredCall:
    """One item of the ``calls`` table; CallRecordError names what is missing."""
    parts = value.split("|", len(FIELDS) - 1)
    if len(parts) != len(FIELDS):
        raise CallRecordError(
            f"call {call_id!r}: {len(parts)} of the {len(FIELDS)} fields "
            f"({'|'.join(FIELDS)}) in {value!r}"
        )
    fields = dict(zip(FIELDS, parts, strict=True))
    for name in ("pbx", "fromUri", "fromTag", "toTag", "contact"):
        if not fields[name]:
            raise CallRecordError(f"call {call_id!r}: empty field {name!r} in {value!r}")
    try:
        answered_at: float | None = float(fields["answeredAt"])
    except ValueError:
        answered_at = None
    return AnsweredCall(
        call_id=call_id,
        pbx=fields["pbx"],
        tenant=fields["tenant"],
        answered_at=answered_at,
        from_uri=fields["fromUri"],
        from_tag=fields["fromTag"],
        to_uri=fields["toUri"],
        to_tag=fields["toTag"],
        source=fields["source"] if fields["source"] not in ("", UNSET) else None,
        contact=fields["contact"],
    )


def dropped_record(call: AnsweredCall, at: float) -> dict[str, Any]:
    """The call-back record of a call whose PBX died (same fields as the edge's own)."""
    return {
        "caller": call.caller,
        "tenant": call.tenant or None,
        "at": round(at, 3),
        "answeredAt": call.answered_at,
        "callId": call.call_id,
        "pbx": call.pbx,
        "method": "pbx-down",
    }


def bye_to_caller(call: AnsweredCall) -> ByeRequest:
    """The BYE the edge sends the caller on behalf of the dead PBX.

    From/To are the call's, seen from the PBX (its To tag is the caller's remote tag). The
    R-URI is the caller's Contact; over TCP/TLS (behind the SIP edge LB) the next hop is the
    carrier's own connection, as for the PBX's requests (the edge may not open one). The BYE
    follows no Route set: carriers reach the edge through an SBC, which does not record-route
    (a record-routing proxy in front would still get it over its own connection, addressed to
    the caller's Contact).
    """
    headers = (
        f"From: <{call.to_uri}>;tag={call.to_tag}\r\n"
        f"To: <{call.from_uri}>;tag={call.from_tag}\r\n"
        f"Call-ID: {call.call_id}\r\n"
        f"CSeq: {BYE_CSEQ} BYE\r\n"
        'Reason: SIP;cause=503;text="PBX lost"\r\n'
    )
    return ByeRequest(ruri=contact_uri(call.contact), nexthop=call.source or ".", headers=headers)


def contact_uri(contact: str) -> str:
    """The URI of a Contact header value (``"Name" <sip:...>;expires=60`` -> ``sip:...``)."""
    text = contact.strip()
    if "<" in text and ">" in text.split("<", 1)[1]:
        uri = text.split("<", 1)[1].split(">", 1)[0]
    else:  # no angle brackets: the URI ends at the first header parameter
        uri = text.split(",", 1)[0].split(";", 1)[0].strip()
    if not uri.lower().startswith(("sip:", "sips:")):
        raise CallRecordError(f"caller Contact {contact!r} holds no SIP URI")
    return uri


def user_of(uri: Any) -> str | None:
    """The user part of a SIP URI (``sip:0611223344@host`` -> ``0611223344``)."""
    if not isinstance(uri, str) or ":" not in uri:
        return None
    user = uri.split(":", 1)[1].split("@", 1)[0].split(";", 1)[0]
    return user if "@" in uri and user else None
