"""The keeper process: sippy's transaction manager and event loop, the calls it keeps, and
the threads that write Redis, watch PBX legs and keep it alive among its peers.

Requests that start nothing known to this keeper are sorted here: a new INVITE (a call the
edge hands over), OPTIONS (the edge probing its keepers), and an in-dialog request for a call
this keeper does not hold (the edge relaying a dead peer's call to it: adopted on the spot if
its owner is dead).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import redis
from prometheus_client import start_http_server
from sippy.CCEvents import CCEventDisconnect
from sippy.Core.EventDispatcher import ED2
from sippy.SipAddress import SipAddress
from sippy.SipConf import SipConf
from sippy.SipContact import SipContact
from sippy.SipHeader import SipHeader
from sippy.SipTransactionManager import SipTransactionManager
from sippy.SipURL import SipURL
from sippy.Time.Timeout import Timeout

from samu_keeper import ledger, prompt
from samu_keeper.core import leg_health, media_watch, rescue, setup
from samu_keeper.core.call_state import CallState, StateError
from samu_keeper.media import Media
from samu_keeper.metrics import KeeperMetrics
from samu_keeper.settings import Settings
from samu_keeper.sip import replica
from samu_keeper.sip.call import KeptCall
from samu_keeper.store import CallStore
from samu_keeper.workers import Liveness, StoreWriter, Watcher
from samu_rtpengine.ng import NgClient

LOG = logging.getLogger(__name__)
#: after a failed rescue the caller hears the prompt, then is released to redial
RELEASE_AFTER_S = 3.0


class _SipLog:
    """sippy's message log, into Python logging at debug level (sippy's own writes files)."""

    def write(self, *args: Any, **kwargs: Any) -> None:
        if LOG.isEnabledFor(logging.DEBUG):
            LOG.debug("%s", "".join(str(a) for a in args))


class Keeper:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.metrics = KeeperMetrics()
        self.media = Media(
            NgClient(*settings.rtpengine, timeout=0.5, retries=1), settings.directions
        )
        # ng commands a call waits on (offer, answer), apart from those it does not (the
        # prompt, delete): a rescue of many calls at once never queues behind its prompts
        self.pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="keeper-ng")
        self.side_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="keeper-ng-side")
        client = redis.Redis.from_url(
            settings.redis_url, socket_timeout=1.0, socket_connect_timeout=1.0
        )
        self.store = CallStore(client, settings.keeper_id)
        self.writer = StoreWriter(self.store)
        self.watcher = Watcher(
            self.media, ED2.callFromThread, self._dead_seen, self._audio_back, settings
        )
        self.liveness = Liveness(
            self.store, settings.heartbeat_ms, ED2.callFromThread, self._install_all
        )
        self.calls: dict[str, KeptCall] = {}
        self.prompt_path = settings.prompt_path
        self.global_config: dict[str, Any] = {}

    # --- running ---------------------------------------------------------------------------
    def run(self) -> None:
        Path(self.settings.prompt_dir).mkdir(parents=True, exist_ok=True)
        if not os.path.exists(self.prompt_path):
            LOG.info(
                "rescue prompt: %s (%s)", self.prompt_path, prompt.generate(Path(self.prompt_path))
            )
        host, port = self.settings.listen
        SipConf.my_address = self.settings.advertise
        SipConf.my_port = port
        SipConf.my_uaname = "samu-keeper"
        self.global_config.update(_sip_address=host, _sip_port=port, _sip_logger=_SipLog())
        self.global_config["_sip_tm"] = SipTransactionManager(self.global_config, self.recv_request)
        mhost, mport = self.settings.metrics
        start_http_server(mport, addr=mhost, registry=self.metrics.registry)
        for thread in (self.writer, self.watcher, self.liveness):
            thread.start()
        ED2.regSignal(signal.SIGTERM, self._sigterm)
        LOG.info(
            "keeper %s: SIP on %s:%d, metrics on %s:%d",
            self.settings.keeper_id,
            host,
            port,
            mhost,
            mport,
        )
        ED2.loop()

    def _sigterm(self) -> None:
        # leave at once: peers adopt the calls now rather than after the heartbeat expires
        self.liveness.stopping = self.watcher.stopping = True
        self.writer.flush(2.0)
        with contextlib.suppress(redis.RedisError):
            self.store.client.delete("samu:keeper:alive:" + self.settings.keeper_id)
        ED2.breakLoop()

    def background(self, fn: Any, args: tuple[Any, ...], then: Any, side: bool = False) -> None:
        """``fn(*args)`` on a worker (of the side pool if ``side``: nothing waits on it);
        ``then(result, error)`` back in the SIP loop."""

        def work() -> None:
            try:
                result, error = fn(*args), None
            except Exception as exc:
                result, error = None, exc
            if then is not None:
                ED2.callFromThread(then, result, error)
            elif error is not None:
                LOG.warning("%s: %s", getattr(fn, "__name__", fn), error)

        (self.side_pool if side else self.pool).submit(work)

    def contact(self) -> SipContact:
        url = SipURL(
            username=f"k-{self.settings.keeper_id}",
            host=self.settings.advertise,
            port=self.settings.listen[1],
        )
        return SipContact(address=SipAddress(url=url))

    # --- requests that match no dialog of this keeper -----------------------------------------
    def recv_request(self, req: Any, sip_t: Any) -> Any:
        method = req.getMethod()
        if method == "ACK":
            return None  # an ACK of no dialog held here: nothing answers an ACK
        if req.getHFBody("to").getTag() is not None:
            return self._stray(req, sip_t)
        if method == "INVITE":
            headers = [(h.name, str(h.body)) for h in req.headers]
            try:
                call_setup = setup.parse(headers)
            except setup.SetupError as exc:
                LOG.error("INVITE %s refused: %s", req.getHFBody("call-id"), exc)
                resp = req.genResponse(500, "Keeper Cannot Place Call")
                resp.appendHeader(SipHeader(name="warning", bodys=f'399 samu-keeper "{exc}"'))
                return (resp, None, None)
            call = KeptCall(self, call_setup)
            return call.carrier.recvRequest(req, sip_t)
        if method == "OPTIONS":
            return (req.genResponse(200, "OK"), None, None)
        if method == "CANCEL":
            return None
        return (req.genResponse(501, "Not Implemented"), None, None)

    def _stray(self, req: Any, sip_t: Any) -> Any:
        """An in-dialog request for a call this keeper does not hold: the edge relayed it
        here because the call's keeper did not answer. Rare, so Redis is read in the loop."""
        call_id = str(req.getHFBody("call-id"))
        try:
            state = self.store.load(call_id)
            live = set(self.store.live_keepers())
        except (redis.RedisError, StateError) as exc:
            LOG.error(
                "in-dialog %s for %s: cannot load the call: %s", req.getMethod(), call_id, exc
            )
            return (req.genResponse(500, "Call State Unavailable"), None, None)
        if state is None:
            return (req.genResponse(481, "Call Leg/Transaction Does Not Exist"), None, None)
        if state.owner != self.settings.keeper_id:
            if state.owner in live:
                resp = req.genResponse(503, "Call Held By A Live Peer")
                resp.appendHeader(SipHeader(name="retry-after", bodys="1"))
                return (resp, None, None)
            taken = self.store.take(call_id, state.owner)
            if taken is None:
                return (req.genResponse(500, "Call Moved Meanwhile"), None, None)
            state = taken
        call = self.calls.get(call_id) or self._install(state)
        return call.carrier.recvRequest(req, sip_t)

    # --- adoption --------------------------------------------------------------------------
    def _install_all(self, states: list[CallState]) -> None:
        for state in states:
            if state.call_id not in self.calls:
                self._install(state)

    def _install(self, state: CallState) -> KeptCall:
        """Goes on with a call a dead peer held (see ``replica.adopted``)."""
        call = replica.adopted(self, state)
        self.calls[state.call_id] = call
        self.metrics.adopted.inc()
        self.metrics.calls.set(len(self.calls))
        LOG.warning("callId=%s adopted: its keeper is dead", state.call_id)
        self._watch(call)
        replica.refresh_target(call)
        return call

    # --- what calls tell the keeper ------------------------------------------------------------
    def pbx_says(self, ua: Any) -> tuple[str, str]:
        said = getattr(ua, "said", {})
        return said.get(rescue.QUEUE, ""), said.get(rescue.POSITION, "")

    def answered(self, call: KeptCall) -> None:
        self.calls[call.call_id] = call
        self.metrics.calls.set(len(self.calls))
        self._watch(call)

    def _watch(self, call: KeptCall, old: media_watch.Watch | None = None) -> None:
        if call.anchored and call.keys is not None:
            self.watcher.add(
                call.call_id, call.keys, setup.address(call.pbx_uri), call.generation, old
            )

    def unwatch(self, call_id: str) -> media_watch.Watch | None:
        return self.watcher.remove(call_id)

    def save(self, state: CallState) -> None:
        self.writer.save(state)

    def ended(self, call: KeptCall) -> None:
        if call.keys is None:
            return
        self.unwatch(call.call_id)
        if self.calls.pop(call.call_id, None) is not None:
            self.writer.forget(call.call_id)
        self.metrics.calls.set(len(self.calls))
        if call.anchored:
            self.background(self.media.delete, (call.keys,), None, side=True)

    def metrics_unrecorded(self, tenant: str) -> None:
        self.metrics.unrecorded.labels(tenant=tenant).inc()

    def _dead_seen(
        self, call_id: str, generation: int, verdict: leg_health.Verdict, watch: media_watch.Watch
    ) -> None:
        call = self.calls.get(call_id)
        if call is not None and call.generation == generation:
            call.leg_dead(verdict, watch)

    def rescued(self, call: KeptCall, rescue_info: dict[str, Any]) -> None:
        LOG.warning(
            "callId=%s rescued on %s (signal %s, from %s)",
            call.call_id, call.pbx_uri, rescue_info["signal"], rescue_info["dead"],
        )  # fmt: skip
        call.signal = rescue_info["signal"]
        if call.anchored:
            self._watch(call, rescue_info.get("watch") or media_watch.Watch(since=time.monotonic()))
        else:
            self.metrics.rescued.labels(tenant=call.setup.tenant, signal=call.signal).inc()

    def _audio_back(self, call_id: str, generation: int, gap: float | None) -> None:
        call = self.calls.get(call_id)
        if call is None or call.generation != generation or gap is None:
            return
        LOG.warning(
            "callId=%s: audio back from %s after a gap of %.3f s", call_id, call.pbx_uri, gap
        )
        self.metrics.record_rescue(call.setup.tenant, getattr(call, "signal", "media"), gap)

    def call_back(self, call: KeptCall, found: rescue.CallBack) -> None:
        """No PBX could take the call: the caller goes to the dropped-calls ledger for an ARM
        to call back, hears the prompt, then is released (BYE) so that they can redial."""
        self.metrics.record_failure(call.setup.tenant, found.reason)
        try:
            ledger.append(self.settings.ledger, found.record)
        except OSError as exc:  # the log line above still carries the record
            LOG.error("dropped-calls journal %s: %s", self.settings.ledger, exc)

        def release() -> None:
            if not call.ended:
                call.carrier.recvEvent(CCEventDisconnect())
                call._finish()

        Timeout(release, RELEASE_AFTER_S)
