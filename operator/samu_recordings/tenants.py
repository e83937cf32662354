"""Whose call a recording is while it lasts: asked of the edge's Kamailio over its JSON-RPC
(``htable.get calls <Call-ID>``, the record the edge keeps of every answered call).

rtpengine 10.5 writes the call's metadata (tenant, caller) only when the call ends; without
this lookup a running call's chunks go to the shared in-flight container and are copied to the
tenant's at the end (one server-side copy per chunk). With it, a call's chunks go to its
tenant's container from the PBX's answer on. One request per call (cached), at most one a
second per call still unanswered; an unreachable Kamailio only means the in-flight path.
"""

from __future__ import annotations

import time

from samu_operator.edge.rpc import KamailioRpc, RpcError
from samu_recordings.core.edgecalls import tenant_and_caller

#: Seconds between two questions about a call the edge has no record of yet (not answered).
RETRY_SECONDS = 1.0


class EdgeCalls:
    def __init__(self, url: str, timeout: float = 0.5) -> None:
        self.rpc = KamailioRpc(url, timeout=timeout)
        self.known: dict[str, tuple[str, str | None]] = {}
        self.asked: dict[str, float] = {}

    def lookup(self, call_id: str) -> tuple[str, str | None] | None:
        """(tenant, caller) of an answered call, or None (not answered yet, or no answer)."""
        if call_id in self.known:
            return self.known[call_id]
        now = time.monotonic()
        if now - self.asked.get(call_id, -RETRY_SECONDS) < RETRY_SECONDS:
            return None
        self.asked[call_id] = now
        try:
            reply = self.rpc.call("htable.get", "calls", call_id)
        except RpcError:  # no such item (not answered yet), or Kamailio unreachable
            return None
        value = (reply or {}).get("item", {}).get("value") if isinstance(reply, dict) else None
        found = tenant_and_caller(value) if isinstance(value, str) else None
        if found is not None:
            self.known[call_id] = found
            self.asked.pop(call_id, None)
        return found

    def forget(self, call_id: str) -> None:
        self.known.pop(call_id, None)
        self.asked.pop(call_id, None)
