"""What the edge tells the keeper with a call, and where its PBX leg goes (pure)."""

import pytest

from samu_keeper.core import rescue
from samu_keeper.core.setup import SetupError, address, parse, pbx_headers, tries_next

GOOD = [
    ("x-samu-tenant", "samu-30"),
    ("x-samu-targets", "<sip:10.0.0.5:5060>, <sip:10.0.1.5:5070>"),
    ("x-samu-departement", "30"),
    ("x-samu-rescued", "1;from=sip:forged"),  # a carrier's copy is never believed
    ("user-agent", "otn"),
]


def test_the_edges_headers_give_tenant_targets_and_what_goes_on_to_the_pbx():
    found = parse(GOOD)
    assert found.tenant == "samu-30"
    assert found.targets == ("sip:10.0.0.5:5060", "sip:10.0.1.5:5070")
    assert found.passed == (("x-samu-departement", "30"),)


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ([("x-samu-targets", "<sip:10.0.0.5>")], "X-Samu-Tenant"),
        ([("x-samu-tenant", "30"), ("x-samu-targets", "<sip:10.0.0.5>")], "X-Samu-Tenant"),
        ([("x-samu-tenant", "samu-30")], "X-Samu-Targets"),
        ([("x-samu-tenant", "samu-30"), ("x-samu-targets", "<tel:15>")], "X-Samu-Targets"),
        ([("x-samu-tenant", "samu-30"), ("x-samu-targets", "<sip:h:99999>")], "port 99999"),
    ],
)
def test_an_invite_the_keeper_cannot_place_names_the_header_and_the_fix(headers, named):
    with pytest.raises(SetupError, match=named):
        parse(headers)


def test_targets_are_deduplicated_and_addresses_default_to_5060():
    found = parse([("x-samu-tenant", "samu-2a"), ("x-samu-targets", "<sip:a>,<sip:a>,sip:b:5070")])
    assert found.targets == ("sip:a", "sip:b:5070")
    assert address("sip:a") == ("a", 5060) and address("sip:[::1]:5070") == ("::1", 5070)


def test_only_no_answer_and_server_errors_move_a_set_up_to_the_next_pbx():
    assert tries_next(408) and tries_next(503) and tries_next(500)
    # saturation (486/600) and every other answer are the edge's to route (overflow)
    assert not any(tries_next(code) for code in (404, 480, 486, 600, 603))


def test_a_pbx_leg_names_the_carrier_call_and_a_rescue_says_so():
    first = pbx_headers((("x-samu-departement", "30"),), "c-1")
    assert first == (("x-samu-departement", "30"), (rescue.ORIGINAL_CALL_ID, "c-1"))
    again = pbx_headers(
        (), "c-1", ((rescue.RESCUED, "1;from=sip:a"), (rescue.ORIGINAL_CALL_ID, "c-1"))
    )
    assert again == ((rescue.ORIGINAL_CALL_ID, "c-1"), (rescue.RESCUED, "1;from=sip:a"))
