"""The rescue plan: the next PBX with the rescue headers, or a call-back record."""

import dataclasses

from samu_keeper.core.rescue import (
    CALLER,
    MAX_RESCUES,
    POSITION,
    QUEUE,
    RESCUED,
    CallBack,
    Rescue,
    plan,
)
from samu_operator.core.dropped import record_key, tenant_of
from tests.keeper.test_call_state import state

DISPATCHER = ["sip:10.0.0.5:5060", "sip:10.0.1.5:5060", "sip:10.0.2.5:5060"]


def test_the_next_pbx_gets_the_call_with_who_what_and_where():
    result = plan(state(), DISPATCHER, tried=[], now=1.0)
    assert isinstance(result, Rescue)
    assert result.target == "sip:10.0.1.5:5060"
    headers = dict(result.headers)
    assert headers[RESCUED] == "1;from=sip:10.0.0.5:5060"
    assert headers[CALLER] == "+33612345678"
    assert headers[QUEUE] == "vital-distress"
    assert headers[POSITION] == "arm-07"


def test_a_call_not_yet_answered_by_a_position_carries_no_position_header():
    result = plan(dataclasses.replace(state(), position=""), DISPATCHER, [], 1.0)
    assert POSITION not in dict(result.headers)


def test_pbxs_already_tried_are_skipped():
    result = plan(state(), DISPATCHER, tried=["sip:10.0.1.5:5060"], now=1.0)
    assert result.target == "sip:10.0.2.5:5060"


def test_no_pbx_left_gives_a_call_back_record_the_ledger_accepts():
    result = plan(state(), DISPATCHER, tried=DISPATCHER[1:], now=1_700_000_100.0)
    assert isinstance(result, CallBack)
    assert "no PBX left" in result.reason
    assert tenant_of(result.record) == "samu-30"
    assert record_key(result.record).startswith("20231114T")


def test_a_call_rescued_too_often_goes_to_the_ledger():
    worn = dataclasses.replace(state(), rescues=MAX_RESCUES)
    assert isinstance(plan(worn, DISPATCHER, [], 1.0), CallBack)
