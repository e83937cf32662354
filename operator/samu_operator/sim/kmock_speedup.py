"""Constant-time request matching for kmock 0.8 (pinned exactly: this touches its internals).

kmock decides which reaction serves a request by asking ``request in view`` for each
registered reaction, and a view answers by iterating over *every request ever served*
(``View.__contains__`` -> ``Filter.__iter__`` -> the root's request log). The cost of one
request thus grows with the number served before it: after a few thousand requests the
emulator spent most of its CPU there, and write latencies reached a second, which would
falsify the failover timings the drill measures.

For the three view types on that path the answer can be computed from the request alone:
a root holds the request it is serving (it appended it just before), a priority hint or a
plain chain holds what its source holds, and a filter holds it when its source does and its
criteria accept it. Every other view keeps kmock's own answer.
"""

from typing import Any

from kmock._internal import dsl, rendering

_original = dsl.View.__contains__


def _contains(self: Any, item: Any) -> bool:
    if isinstance(item, rendering.Request):
        kind = type(self)
        if isinstance(self, dsl.Root):
            requests = self._requests
            return any(r is item for r in reversed(requests[-64:])) or _original(self, item)
        if kind in (dsl.Priority, dsl.Chained):
            return item in self._source
        if kind is dsl.Filter:
            return item in self._source and bool(self.criteria(item))
    return bool(_original(self, item))


def install() -> None:
    """Idempotent; affects every kmock view in this process."""
    dsl.View.__contains__ = _contains  # type: ignore[method-assign,assignment]
