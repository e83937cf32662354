"""A kept call as its replicated record (``CallState``), and back: the call a peer rebuilds
from the record of a dead keeper's call, both legs Connected, ready for in-dialog requests."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING

from sippy.CCEvents import CCEventUpdate
from sippy.MsgBody import MsgBody

from samu_keeper.core import setup
from samu_keeper.core.call_state import CallState
from samu_keeper.media import Keys
from samu_keeper.sip import legs
from samu_keeper.sip.agents import KeeperUA, PbxUA

if TYPE_CHECKING:
    from samu_keeper.daemon import Keeper
    from samu_keeper.sip.call import KeptCall


def state_of(call: KeptCall) -> CallState:
    """The record of ``call`` as it is now (its PBX leg: the live one, else the last one)."""
    assert call.keys is not None
    pbx = call.pbx
    pbx_leg = legs.leg_of(pbx) if pbx is not None and pbx.isConnected() else call._last_pbx_leg
    return CallState(
        call_id=call.call_id,
        tenant=call.setup.tenant,
        caller=call.caller,
        carrier=legs.leg_of(call.carrier),
        pbx=pbx_leg,
        pbx_uri=call.pbx_uri,
        rtpengine=call.keys.as_record(),
        owner=call.keeper.settings.keeper_id,
        queue=call.queue,
        position=call.position,
        answered_at=call.answered_at,
        rescues=call.rescues,
        targets=call.setup.targets,
        extra={
            "caller_offer": call.caller_offer,
            "caller_answer": call.caller_answer,
            "pbx_offer": call.pbx_offer,
            "pbx_answer": call.pbx_answer,
            "called": call.called,
            "anchored": "yes" if call.anchored else "no",
            "passed": "\n".join(f"{n}: {v}" for n, v in call.setup.passed),
        },
    )


def adopted(keeper: Keeper, state: CallState) -> KeptCall:
    """The call of ``state`` rebuilt in ``keeper``, and a target refresh (a re-INVITE, same
    media, the adopter's Contact) on its way to the PBX, so that the PBX's in-dialog requests
    come to the adopter from now on (its answer is a liveness check too: 408/481 is a rescue)."""
    from samu_keeper.sip.call import KeptCall

    extra = state.extra
    passed = tuple(
        (name, value)
        for name, _, value in (
            line.partition(": ") for line in extra.get("passed", "").splitlines()
        )
        if value
    )
    call = KeptCall(keeper, setup.Setup(state.tenant, state.targets, passed))
    call.keys = Keys.of_record(state.rtpengine)
    call.caller, call.called = state.caller, extra.get("called", "")
    call.caller_offer, call.caller_answer = (
        extra.get("caller_offer", ""),
        extra.get("caller_answer", ""),
    )
    call.pbx_offer, call.pbx_answer = extra.get("pbx_offer", ""), extra.get("pbx_answer", "")
    call.anchored = extra.get("anchored", "yes") == "yes"
    call.answered_at, call.rescues = state.answered_at or time.time(), state.rescues
    call.queue, call.position, call.pbx_uri = state.queue, state.position, state.pbx_uri
    config, contact = keeper.global_config, keeper.contact
    call.carrier = legs.connected_ua(
        config, state.carrier, contact(), call.caller_answer, call.caller_offer,
        call.from_carrier, KeeperUA,
    )  # fmt: skip
    call.pbx = legs.connected_ua(
        config, state.pbx, contact(), call.pbx_offer, call.pbx_answer, call.from_pbx, PbxUA
    )
    call._last_pbx_leg = state.pbx
    call.generation = 1
    return call


def refresh_target(call: KeptCall) -> None:
    assert call.pbx is not None
    call.refreshing = True
    call.pbx.recvEvent(CCEventUpdate(MsgBody(_bump_version(call.pbx_offer))))


def _bump_version(sdp: str) -> str:
    """The same SDP with its o= version one higher: a re-INVITE that changes nothing but the
    keeper's Contact (sippy sends no re-INVITE for an unchanged SDP)."""

    def bump(found: re.Match[str]) -> str:
        return f"{found[1]}{int(found[2]) + 1}{found[3]}"

    return re.sub(r"^(o=\S+ \S+ )(\d+)( )", bump, sdp, count=1, flags=re.M)
