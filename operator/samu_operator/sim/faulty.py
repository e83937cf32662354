"""How the emulator serves the faults ``sim.faults`` draws: error answers, late answers, reset
connections, and watch streams that end, go silent or carry bookmarks. A mixin of
``SamuEmulator`` (which owns ``faults``, ``bookmark_seconds`` and ``_silenced``)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp.web
from kmock import KubernetesError
from kmock._internal import enums, rendering

from samu_operator.sim.faults import Faults


class FaultyApi:
    """The fault-serving half of the emulator (it calls the emulator's own
    ``_handle_in_flight`` and ``_watch_events``)."""

    faults: Faults
    bookmark_seconds: float | None
    _silenced: int

    async def _faulty(self, fault: str, request: rendering.Request) -> Any:
        """Serve ``request`` with the injected ``fault`` (see ``sim.faults``)."""
        if fault == "latency":
            await asyncio.sleep(self.faults.delay())
            return await self._handle_in_flight(request)
        if fault == "reset":
            if request.action in (enums.action.CREATE, enums.action.UPDATE, enums.action.DELETE):
                await self._handle_in_flight(request)  # applied: only the answer is lost
            transport = request._raw_request.transport if request._raw_request else None
            if transport is not None:
                transport.abort()
            return aiohttp.web.Response(status=500)  # written to a closed connection: lost
        if fault == "429":
            seconds = self.faults.retry_after
            body = _status(429, "TooManyRequests", "injected: too many requests, retry later")
            body["details"] = {"retryAfterSeconds": seconds}
            return aiohttp.web.json_response(
                body, status=429, headers={"Retry-After": str(seconds)}
            )
        if fault == "409":
            # A concurrent creator won the race: the object exists (as this client wanted it)
            # and the answer is AlreadyExists, never a conflict the client cannot resolve.
            with contextlib.suppress(KubernetesError):
                await self._handle_in_flight(request)
            message = "injected: the object already exists (created concurrently)"
            return aiohttp.web.json_response(_status(409, "AlreadyExists", message), status=409)
        code = self.faults.server_error()
        reason = "ServiceUnavailable" if code == 503 else "InternalError"
        return aiohttp.web.json_response(_status(code, reason, "injected"), status=code)

    async def _serve_watch(self, request: rendering.Request) -> AsyncIterator[Any]:
        """The stream of ``_watch_events``, ended or silenced when a watch fault says so."""
        fault = self.faults.watch_fault()
        events = self._watch_events(request)
        loop = asyncio.get_running_loop()
        deadline = None if fault is None else loop.time() + fault[1]
        bookmarks = self.bookmark_seconds if request.params.get("allowWatchBookmarks") else None
        version = request.params.get("resourceVersion", "")
        pending: asyncio.Task[Any] | None = None
        silenced = self._silenced
        try:
            while silenced == self._silenced:
                pending = pending or asyncio.ensure_future(anext(events))
                wait = [t - loop.time() for t in (deadline,) if t is not None]
                wait += [bookmarks] if bookmarks is not None else []
                done, _ = await asyncio.wait({pending}, timeout=min(wait, default=None))
                if (deadline is not None and loop.time() >= deadline) or silenced != self._silenced:
                    break
                if not done:
                    yield _bookmark(request, version)
                    continue
                try:
                    event = pending.result()
                except StopAsyncIteration:
                    return
                pending = None
                if isinstance(event, dict):
                    meta = (event.get("object") or {}).get("metadata") or {}
                    version = str(meta.get("resourceVersion", version))
                yield event
        finally:
            if pending is not None:
                pending.cancel()
                with contextlib.suppress(BaseException):  # cancelled, or the stream's own end
                    await pending
            await events.aclose()
        if silenced != self._silenced or (fault is not None and fault[0] == "watch-silent"):
            await asyncio.Event().wait()  # open, silent, until the client gives up on it

    def silence_watches(self) -> None:
        """Every watch stream open now goes silent: open, but no event any more (new
        streams are not affected). What a watcher meets when its stream dies quietly."""
        self._silenced += 1


def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    """A Kubernetes Status object, as the API server answers an error."""
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _bookmark(request: rendering.Request, version: str) -> dict[str, Any]:
    """A BOOKMARK event: only the resourceVersion the stream has reached."""
    res = request.resource
    api_version = f"{res.group}/{res.version}".lstrip("/") if res is not None else "v1"
    return {
        "type": "BOOKMARK",
        "object": {"apiVersion": api_version, "metadata": {"resourceVersion": version}},
    }
