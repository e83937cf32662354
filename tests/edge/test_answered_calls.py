"""The answered calls the edge holds (htable ``calls``) and the BYE that ends one whose PBX
died: pure functions over the item Kamailio writes (see kamailio.cfg, onreply_route[ANSWERED])."""

from pathlib import Path

import pytest

from samu_operator.core.calls import (
    BYE_CSEQ,
    FIELDS,
    CallRecordError,
    bye_to_caller,
    contact_uri,
    dropped_record,
    parse_call,
)
from samu_operator.edge.files import EdgeFiles
from samu_operator.edge.sync import EdgeSync

PBX = "sip:pbx-a.samu-30.svc.cluster.local:5060"
UDP_ITEM = (
    f"{PBX}|1795000000|pbxtag|samu-30|sip:0466000001@carrier.example|ft1|sip:+33466000015@edge"
    "|<null>|<sip:0466000001@192.0.2.10:5060>"
)
TLS_ITEM = (
    f"{PBX}|1795000000|pbxtag|samu-30|sip:0466000001@carrier.example|ft1|sip:15@edge"
    '|sip:10.0.0.7:40123;transport=tls|"A | B" <sip:0466000001@192.0.2.10:5061;transport=tls>'
    ";expires=60"
)


def test_an_item_gives_the_call_its_caller_and_the_record_for_call_back() -> None:
    call = parse_call("c1", UDP_ITEM)
    assert (call.pbx, call.tenant, call.caller, call.source) == (
        PBX,
        "samu-30",
        "0466000001",
        None,
    )
    record = dropped_record(call, at=1795000042.12345)
    assert record == {
        "caller": "0466000001",
        "tenant": "samu-30",
        "at": 1795000042.123,
        "answeredAt": 1795000000.0,
        "callId": "c1",
        "pbx": PBX,
        "method": "pbx-down",
    }


def test_the_bye_over_udp_goes_to_the_callers_contact_seen_from_the_pbx() -> None:
    bye = bye_to_caller(parse_call("c1", UDP_ITEM))
    method, ruri, nexthop, socket, headers = bye.rpc_params()
    assert (method, ruri, nexthop, socket) == ("BYE", "sip:0466000001@192.0.2.10:5060", ".", ".")
    lines = headers.split("\r\n")
    assert "From: <sip:+33466000015@edge>;tag=pbxtag" in lines
    assert "To: <sip:0466000001@carrier.example>;tag=ft1" in lines
    assert "Call-ID: c1" in lines
    assert f"CSeq: {BYE_CSEQ} BYE" in lines and BYE_CSEQ < 2**31
    assert headers.endswith("\r\n")


def test_the_bye_over_tls_goes_over_the_carriers_own_connection() -> None:
    """A '|' in the Contact's display name stays in the Contact (the last field)."""
    call = parse_call("c2", TLS_ITEM)
    bye = bye_to_caller(call)
    assert bye.nexthop == "sip:10.0.0.7:40123;transport=tls"
    assert bye.ruri == "sip:0466000001@192.0.2.10:5061;transport=tls"


@pytest.mark.parametrize(
    ("contact", "uri"),
    [
        ("<sip:a@192.0.2.1>", "sip:a@192.0.2.1"),
        ("sip:a@192.0.2.1;expires=60", "sip:a@192.0.2.1"),
        (
            '"x" <sips:a@[2001:db8::1]:5061;transport=tls>;q=1',
            "sips:a@[2001:db8::1]:5061;transport=tls",
        ),
    ],
)
def test_contact_uri_reads_every_contact_form(contact: str, uri: str) -> None:
    assert contact_uri(contact) == uri


def test_a_contact_without_a_sip_uri_is_refused_naming_it() -> None:
    with pytest.raises(CallRecordError, match="holds no SIP URI"):
        contact_uri("<tel:+33466000001>")


@pytest.mark.parametrize("field", ["pbx", "fromUri", "fromTag", "toTag", "contact"])
def test_an_item_missing_a_field_is_refused_naming_it(field: str) -> None:
    parts = dict(zip(FIELDS, UDP_ITEM.split("|", len(FIELDS) - 1), strict=True))
    parts[field] = ""
    with pytest.raises(CallRecordError, match=f"empty field '{field}'"):
        parse_call("c3", "|".join(parts[name] for name in FIELDS))


def test_a_truncated_item_is_refused_naming_the_fields() -> None:
    with pytest.raises(CallRecordError, match="3 of the 9 fields"):
        parse_call("c4", "a|b|c")


class DumpRpc:
    """Kamailio's answer to ``htable.dump calls``: a list of slots, each with its items."""

    def __init__(self, items: dict[str, str]) -> None:
        self.items = items

    def call(self, method: str, *params: object) -> object:
        assert (method, params) == ("htable.dump", ("calls",))
        cells = [{"name": k, "value": v, "type": "str"} for k, v in self.items.items()]
        return [{"entry": 7, "size": len(cells), "slot": cells}]


def test_an_unreadable_item_is_reported_and_never_hides_the_others(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rpc = DumpRpc({"bad": "a|b|c", "c1": UDP_ITEM})
    sync = EdgeSync(EdgeFiles(tmp_path), rpc)  # type: ignore[arg-type]
    assert [call.call_id for call in sync.answered_calls()] == ["c1"]
    assert "'bad': 3 of the 9 fields" in caplog.text
