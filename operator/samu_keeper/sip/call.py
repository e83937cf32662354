"""One kept call: the carrier leg (a UAS the keeper owns for the whole call) and the PBX leg
(a UAC, replaced on a rescue), bridged through rtpengine.

Runs in sippy's event loop only. rtpengine and Redis are reached through the keeper's
workers (``Keeper.background``, ``Keeper.save``), whose results come back to the loop, so a
slow rtpengine never stalls the other calls' signalling.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import TYPE_CHECKING, Any

from sippy.CCEvents import (
    CCEventConnect,
    CCEventDisconnect,
    CCEventFail,
    CCEventInfo,
    CCEventPreConnect,
    CCEventRing,
    CCEventTry,
    CCEventUpdate,
)
from sippy.MsgBody import MsgBody
from sippy.SipCallId import SipCallId
from sippy.SipHeader import SipHeader
from sippy.Time.Timeout import Timeout
from sippy.UA import UA

from samu_keeper.core import leg_health, rescue, setup
from samu_keeper.core.call_state import CallState
from samu_keeper.media import Keys, metadata
from samu_keeper.sip import legs, replica
from samu_keeper.sip.agents import KeeperUA, PbxUA

if TYPE_CHECKING:
    from samu_keeper.daemon import Keeper

LOG = logging.getLogger(__name__)
UNRECORDED = "X-Samu-Unrecorded"
DEAD_LEG_BYE_AFTER_S = 5.0


def _ignore(_result: Any, error: Exception | None) -> None:
    if error is not None:  # e.g. a prompt that had ended on its own
        LOG.debug("stop media: %s", error)


def _body_text(body: Any) -> str:
    return "" if body is None else str(body)


def _sdp(text: str) -> MsgBody:
    return MsgBody(text)


class KeptCall:
    def __init__(self, keeper: Keeper, call_setup: setup.Setup) -> None:
        self.keeper = keeper
        self.setup = call_setup
        self.carrier = KeeperUA(keeper.global_config, event_cb=self.from_carrier, nh_address=None)
        self.carrier.lContact = keeper.contact()
        self.pbx: UA | None = None
        self.pbx_uri = ""
        self.tried: list[str] = []
        self.keys: Keys | None = None
        self.caller = ""
        self.called = ""
        self.caller_name: str | None = None
        self.caller_offer = ""  # the caller's own SDP (re-offered on a rescue)
        self.caller_answer = ""  # what the caller got from rtpengine
        self.pbx_offer = ""
        self.pbx_answer = ""
        self.anchored = True
        self.answered_at = 0.0
        self.rescues = 0
        self.queue = ""
        self.position = ""
        self.rescue: dict[str, Any] | None = None  # the rescue under way
        self.pending_update = False  # a caller re-INVITE waits for the PBX's answer
        self.ended = False
        self.generation = 0  # bumps with every PBX leg: verdicts on an old leg are ignored
        self.refreshing = False  # an adopter's target refresh to the PBX is under way
        self.signal = ""  # the signal that found the last dead PBX leg

    @property
    def call_id(self) -> str:
        return self.keys.call_id if self.keys else str(self.carrier.cId)

    # --- the carrier leg -------------------------------------------------------------------
    def from_carrier(self, event: Any, ua: UA) -> None:
        if self.ended:
            return
        if isinstance(event, CCEventTry):
            self._caller_invites(event)
        elif isinstance(event, CCEventDisconnect | CCEventFail):
            self._end(event, by="caller")
        elif isinstance(event, CCEventUpdate) and self.pbx is not None and self.rescue is None:
            self._caller_updates(event)
        elif isinstance(event, CCEventUpdate):
            # no PBX leg to ask right now (a rescue is under way): keep the media as it is
            self.carrier.recvEvent(CCEventConnect((200, "OK", _sdp(self.caller_answer))))
        elif isinstance(event, CCEventInfo) and self.pbx is not None and self.rescue is None:
            self.pbx.recvEvent(event)

    def _caller_invites(self, event: CCEventTry) -> None:
        cid, cli, cld, body, _auth, name = event.getData()
        self.caller, self.called, self.caller_name = cli or "", cld or "", name
        call_id = str(cid)
        self.keys = Keys(call_id, str(self.carrier.rUri.getTag()), str(self.carrier.lTag))
        self.caller_offer = _body_text(body)
        if not self.caller_offer:
            # a late offer is not kept (docs/keeper.md): the edge routes it itself on this
            # answer, as on any INVITE the keeper cannot place
            fail = CCEventFail((500, "Keeper Cannot Place Call"))
            fail.setWarning(
                "late offer (no SDP in the INVITE): the edge routes it without a keeper"
            )
            self.carrier.recvEvent(fail)
            return
        meta = metadata(self.setup.tenant, self.caller, self.called, call_id)
        self.keeper.background(
            self.keeper.media.offer, (self.keys, self.caller_offer, meta), self._offered
        )

    def _offered(self, sdp: str | None, error: Exception | None) -> None:
        if self.ended:
            return
        if error is not None:
            # a 15 call is never refused for a recording fault: the PBX gets the caller's
            # own SDP and is told the edge does not record (its own copy is the only one)
            LOG.error(
                "SAMU-UNRECORDED-CALL callId=%s: rtpengine offer failed: %s", self.call_id, error
            )
            self.keeper.metrics_unrecorded(self.setup.tenant)
            self.anchored = False
            sdp = self.caller_offer
        self.pbx_offer = sdp or ""
        self._dial_next()

    def _dial_next(self) -> None:
        target = next((t for t in self.setup.targets if t not in self.tried), None)
        if target is None:
            self.carrier.recvEvent(CCEventFail((503, "No PBX Available")))
            self._finish()
            return
        extra = [(UNRECORDED, "edge")] if not self.anchored else []
        headers = setup.pbx_headers((*self.setup.passed, *extra), self.call_id)
        self._dial(target, headers)

    def _dial(self, target: str, headers: tuple[tuple[str, str], ...]) -> None:
        host, port = setup.address(target)
        ua = PbxUA(self.keeper.global_config, event_cb=self.from_pbx, nh_address=(host, port))
        ua.no_reply_time = self.keeper.settings.setup_timeout_s
        ua.lContact = self.keeper.contact()
        self.tried.append(target)
        self.pbx, self.pbx_uri = ua, target
        self.generation += 1
        event = CCEventTry(
            (SipCallId(), self.caller, self.called, _sdp(self.pbx_offer), None, self.caller_name)
        )
        event.extra_headers = tuple(SipHeader(name=n, bodys=v) for n, v in headers)
        ua.recvEvent(event)

    def _caller_updates(self, event: CCEventUpdate) -> None:
        body = _body_text(event.getData())
        assert self.keys is not None and self.pbx is not None
        if not body or not self.anchored:
            self.pending_update = True
            self.pbx.recvEvent(event)
            return
        self.caller_offer = body

        def offered(sdp: str | None, error: Exception | None) -> None:
            if self.ended or self.pbx is None:
                return
            if error is not None:
                self.carrier.recvEvent(CCEventFail((500, "Media Anchor Unavailable")))
                return
            self.pending_update = True
            self.pbx_offer = sdp or ""
            self.pbx.recvEvent(CCEventUpdate(_sdp(self.pbx_offer)))

        self.keeper.background(self.keeper.media.offer, (self.keys, body), offered)

    # --- the PBX leg -----------------------------------------------------------------------
    def from_pbx(self, event: Any, ua: UA) -> None:
        if self.ended or ua is not self.pbx:
            return  # a leg given up (dead PBX, or a set-up try that lost)
        answered = self.answered_at > 0
        if isinstance(event, CCEventRing | CCEventPreConnect) and not answered:
            code, reason, body = event.getData()[:3]
            if body is None or not self.anchored:
                self.carrier.recvEvent(CCEventRing((code, reason, body)))
                return
            self._through_answer(
                _body_text(body),
                lambda sdp: self.carrier.recvEvent(CCEventRing((code, reason, _sdp(sdp)))),
            )
        elif isinstance(event, CCEventConnect):
            self._pbx_connects(event, answered)
        elif isinstance(event, CCEventFail | CCEventDisconnect):
            self._pbx_fails(event, answered)
        elif isinstance(event, CCEventUpdate) and answered:
            self._pbx_updates(event)
        elif isinstance(event, CCEventInfo) and answered:
            said = self.keeper.pbx_says(ua)
            if said != (self.queue, self.position):
                self.queue, self.position = said
                self.save()
            self.carrier.recvEvent(event)

    def _pbx_updates(self, event: CCEventUpdate) -> None:
        """The PBX moves its media (a re-INVITE: another media server, hold, a codec change):
        rtpengine learns its new SDP and the keeper answers it; the caller's side does not
        change, so the carrier gets nothing."""
        assert self.pbx is not None and self.keys is not None
        body = _body_text(event.getData())
        pbx = self.pbx
        generation = self.generation
        if not body or not self.anchored:
            pbx.recvEvent(
                CCEventConnect((200, "OK", _sdp(self.pbx_offer) if self.pbx_offer else None))
            )
            return

        def answered(sdp: str | None, error: Exception | None) -> None:
            if self.ended or generation != self.generation or self.pbx is not pbx:
                return
            if error is not None:
                LOG.error(
                    "callId=%s: rtpengine refused the PBX's re-INVITE: %s", self.call_id, error
                )
                pbx.recvEvent(CCEventFail((488, "Not Acceptable Here")))
                return
            self.pbx_answer, self.pbx_offer = body, sdp or self.pbx_offer
            pbx.recvEvent(CCEventConnect((200, "OK", _sdp(self.pbx_offer))))
            self.save()

        self.keeper.background(
            self.keeper.media.pbx_moves, (self.keys, body, self.caller_offer), answered
        )

    def _through_answer(self, pbx_sdp: str, then: Any) -> None:
        assert self.keys is not None
        generation = self.generation

        def answered(sdp: str | None, error: Exception | None) -> None:
            if self.ended or generation != self.generation:
                return
            if error is not None:
                LOG.error("callId=%s: rtpengine answer failed: %s", self.call_id, error)
                sdp = pbx_sdp  # the call goes on, unrecorded at the edge
            then(sdp or "")

        self.keeper.background(self.keeper.media.answer, (self.keys, pbx_sdp), answered)

    def _pbx_connects(self, event: CCEventConnect, answered: bool) -> None:
        code, reason, body = event.getData()[:3]
        pbx_sdp = _body_text(body)
        if self.rescue is not None:
            self._rescued(pbx_sdp)
            return
        if answered and self.refreshing and not self.pending_update:
            self.refreshing = False  # the PBX now sends its in-dialog requests here
            self.save()
            return
        if answered and not self.pending_update:
            return
        if not self.anchored or not pbx_sdp:
            self._to_caller(code, reason, pbx_sdp, answered)
            return
        self._through_answer(
            pbx_sdp, lambda sdp: self._to_caller(code, reason, sdp, answered, pbx_sdp)
        )

    def _to_caller(
        self, code: int, reason: str, sdp: str, answered: bool, pbx_sdp: str = ""
    ) -> None:
        self.pbx_answer = pbx_sdp or sdp
        self.caller_answer = sdp
        self.pending_update = False
        self.carrier.recvEvent(CCEventConnect((code, reason, _sdp(sdp) if sdp else None)))
        if not answered:
            self.answered_at = time.time()
            self.queue, self.position = self.keeper.pbx_says(self.pbx)
            self.keeper.answered(self)
        self.save()

    def _pbx_fails(self, event: Any, answered: bool) -> None:
        code = event.getData()[0] if isinstance(event, CCEventFail) and event.getData() else 0
        if self.rescue is not None:
            self._rescue_next(f"rescue INVITE to {self.pbx_uri} failed ({code or 'no answer'})")
            return
        if not answered:
            if isinstance(event, CCEventDisconnect) or setup.tries_next(int(code)):
                self._dial_next()
            else:
                self.carrier.recvEvent(event)
                self._finish()
            return
        if isinstance(event, CCEventFail):
            verdict = leg_health.judge({"lastInDialogStatus": int(code)})
            if verdict.dead:
                self.leg_dead(verdict)
                return
            if self.pending_update:  # the caller's re-INVITE was refused: tell the caller
                self.pending_update = False
                self.carrier.recvEvent(event)
            return
        # the PBX hung up (the ARM ended the call): the caller is told
        self._end(event, by="pbx")

    # --- rescue ----------------------------------------------------------------------------
    def leg_dead(self, verdict: leg_health.Verdict, watch: Any = None) -> None:
        """The PBX leg is dead: prompt the caller, try the next PBX (never touch the carrier)."""
        if self.ended or self.rescue is not None or self.answered_at == 0:
            return
        LOG.warning(
            "callId=%s: PBX %s dead (%s: %s), rescuing",
            self.call_id,
            self.pbx_uri,
            verdict.reason,
            verdict.detail,
        )
        if self.pending_update:
            # the caller's re-INVITE died with the PBX: its media stays where it is (rtpengine
            # took the new offer), so the caller gets the same answer as before
            self.pending_update = False
            self.carrier.recvEvent(CCEventConnect((200, "OK", _sdp(self.caller_answer))))
        dead, self.pbx = self.pbx, None
        if dead is not None:
            dead.event_cb = None
            # a BYE it gets if it comes back (a frozen PBX), sent once the rescue is done
            Timeout(dead.recvEvent, DEAD_LEG_BYE_AFTER_S, 1, CCEventDisconnect())
        last = self.keeper.unwatch(self.call_id)
        self.rescue = {
            "signal": verdict.reason,
            "dead": self.pbx_uri,
            "tried": [self.pbx_uri],
            "at": time.time(),
            "watch": watch if watch is not None else last,
            "playing": False,
        }
        self._rescue_next("")

    def _prompt(self) -> None:
        """The prompt to the caller, once the rescue INVITE is out (the critical path first:
        a rescue of many calls at once does not wait behind their prompts)."""
        if not self.anchored or self.keys is None or self.rescue is None:
            return
        if self.rescue.get("prompted"):
            return
        self.rescue["prompted"] = True
        keys = self.keys

        def started(_result: Any, error: Exception | None) -> None:
            if error is not None:
                LOG.warning("callId=%s: prompt not played: %s", self.call_id, error)
                return
            self.keeper.metrics.prompts.labels(tenant=self.setup.tenant).inc()
            if self.rescue is not None and not self.ended:
                self.rescue["playing"] = True
            else:  # the new PBX answered first: its audio, not the prompt
                self.keeper.background(self.keeper.media.stop_playing, (keys,), _ignore, side=True)

        self.keeper.background(
            self.keeper.media.play, (keys, self.keeper.prompt_path), started, side=True
        )

    def _rescue_next(self, why: str) -> None:
        assert self.rescue is not None
        if why:
            LOG.warning("callId=%s: %s", self.call_id, why)
            self.rescue["tried"].append(self.pbx_uri)
            if self.pbx is not None:
                self.pbx.event_cb = None
                self.pbx = None
        state = dataclasses.replace(self.state(), pbx_uri=self.rescue["dead"])
        found = rescue.plan(state, self.setup.targets, self.rescue["tried"], time.time())
        if isinstance(found, rescue.CallBack):
            self._prompt()
            self.keeper.call_back(self, found)
            return  # the caller hears the prompt; the ledger has the call
        if self.anchored and self.keys is not None:

            def offered(sdp: str | None, error: Exception | None) -> None:
                if self.ended:
                    return
                self.pbx_offer = sdp if error is None and sdp else self.pbx_offer
                self._dial(
                    found.target, setup.pbx_headers(self.setup.passed, self.call_id, found.headers)
                )
                self._prompt()

            self.keeper.background(self.keeper.media.offer, (self.keys, self.caller_offer), offered)
        else:
            self._dial(
                found.target, setup.pbx_headers(self.setup.passed, self.call_id, found.headers)
            )

    def _rescued(self, pbx_sdp: str) -> None:
        assert self.rescue is not None and self.keys is not None
        done = self.rescue

        def bridged(sdp: str | None, error: Exception | None) -> None:
            if self.ended:
                return
            if done.get("playing"):
                self.keeper.background(self.keeper.media.stop_playing, (keys,), _ignore)
            self.pbx_answer = pbx_sdp
            self.rescues += 1
            self.rescue = None
            self.keeper.rescued(self, done)
            self.save()

        if not self.anchored:
            bridged(None, None)
            return

        keys = self.keys
        self.keeper.background(self.keeper.media.answer, (keys, pbx_sdp), bridged)

    # --- the end ---------------------------------------------------------------------------
    def _end(self, event: Any, by: str) -> None:
        if by == "caller" and self.pbx is not None:
            self.pbx.recvEvent(CCEventDisconnect())
        elif by == "pbx":
            self.carrier.recvEvent(CCEventDisconnect())
        self._finish()

    def _finish(self) -> None:
        if self.ended:
            return
        self.ended = True
        if self.pbx is not None:
            self.pbx.event_cb = None
        self.keeper.ended(self)

    # --- replication ---------------------------------------------------------------------
    def state(self) -> CallState:
        return replica.state_of(self)

    _last_pbx_leg: Any = None

    def save(self) -> None:
        if self.pbx is not None and self.pbx.isConnected():
            self._last_pbx_leg = legs.leg_of(self.pbx)
        if self._last_pbx_leg is None:
            return
        self.keeper.save(self.state())
