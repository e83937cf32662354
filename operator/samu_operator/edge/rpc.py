"""JSON-RPC to Kamailio over its xhttp port (module jsonrpcs, path /RPC).

Hand-written on the standard library on purpose: three calls (dispatcher.reload,
htable.reload, mqueue.fetch) do not justify an HTTP client dependency in the operator, and
every call is short and bounded by a timeout.
"""

import itertools
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any


class RpcError(RuntimeError):
    """Kamailio refused or could not be reached; the message says which method and why."""


@dataclass
class KamailioRpc:
    url: str
    timeout: float = 2.0
    _ids: "itertools.count[int]" = field(default_factory=itertools.count, repr=False)

    def call(self, method: str, *params: Any) -> Any:
        body = {"jsonrpc": "2.0", "method": method, "id": next(self._ids)}
        if params:
            body["params"] = list(params)
        request = urllib.request.Request(
            self.url,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                reply = json.loads(response.read() or b"{}")
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise RpcError(f"{method} at {self.url}: {exc}") from exc
        if "error" in reply:
            error = reply["error"]
            raise RpcError(f"{method}: {error.get('code')} {error.get('message')}")
        return reply.get("result")

    def timed(self, method: str, *params: Any) -> float:
        """Run one call and return how long Kamailio took to do it, in seconds."""
        start = time.perf_counter()
        self.call(method, *params)
        return time.perf_counter() - start
