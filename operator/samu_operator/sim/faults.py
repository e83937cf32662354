"""Faults the emulated API server injects, by rate and kind (tests, ``samuctl drill --chaos``,
the onboarding benchmark).

Request faults, each drawn for a share ``rate`` of the requests (watches excepted):

* ``5xx``: 500 or 503 with a Status body, nothing applied (etcd or the apiserver failing);
* ``409``: a create answered AlreadyExists because a concurrent creator won (it is applied):
  the only 409 a merge-patching client meets, since the API server retries the conflicts
  of a patch without precondition itself;
* ``429``: Too Many Requests with ``Retry-After`` (API priority and fairness), nothing applied;
* ``latency``: the answer comes ``latency`` seconds late (a loaded API server);
* ``reset``: the connection is dropped with no answer; a write is applied first (the worst
  case: the client cannot know it happened, its retry must be harmless).

Watch faults, for the watch streams:

* ``watch-close``: every stream ends after ``watch_seconds`` (half to one and a half times
  that), as API servers end streams at their timeout and on restarts;
* ``watch-silent``: a share ``rate`` of the streams go silent after a moment: open, but no
  event any more (the failure a watcher only detects by its own inactivity timeout).

The decisions are pure draws from a seeded generator; ``counts`` says what was injected.
"""

import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

REQUEST_KINDS = ("5xx", "409", "429", "latency", "reset")
WATCH_KINDS = ("watch-close", "watch-silent")
KINDS = REQUEST_KINDS + WATCH_KINDS


class FaultsError(ValueError):
    """A fault specification that cannot be used (the message names the part and the fix)."""


@dataclass
class Faults:
    """What to inject; ``Faults()`` injects nothing."""

    rate: float = 0.0
    kinds: frozenset[str] = frozenset(KINDS)
    seed: int | None = None
    latency: tuple[float, float] = (0.05, 0.5)
    retry_after: int = 1
    watch_seconds: float = 3.0
    #: Only requests this accepts, (method, path) -> bool, meet a request fault; None: all.
    only: Callable[[str, str], bool] | None = None
    limit: int | None = None  # at most this many request faults in all; None: no limit
    counts: Counter[str] = field(default_factory=Counter)
    _rng: random.Random = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise FaultsError(f"fault rate {self.rate}: give a share of requests from 0 to 1")
        unknown = sorted(set(self.kinds) - set(KINDS))
        if unknown:
            raise FaultsError(
                f"fault kinds {', '.join(unknown)}: unknown; choose among {', '.join(KINDS)}"
            )
        self.kinds = frozenset(self.kinds)
        self._rng = random.Random(self.seed)

    @classmethod
    def parse(cls, text: str, seed: int | None = None) -> "Faults":
        """``RATE`` or ``RATE:KIND,KIND...`` (``0.1``, ``0.2:5xx,reset``)."""
        rate_text, _, kinds_text = text.partition(":")
        try:
            rate = float(rate_text)
        except ValueError:
            raise FaultsError(
                f"fault rate {rate_text!r}: not a number; give a share such as 0.1"
            ) from None
        kinds = frozenset(k.strip() for k in kinds_text.split(",") if k.strip()) or frozenset(KINDS)
        return cls(rate=rate, kinds=kinds, seed=seed)

    def request_fault(self, method: str, path: str = "") -> str | None:
        """The fault for one (non-watch) request, or None. A 409 only meets a create."""
        if self.rate <= 0 or (self.only is not None and not self.only(method, path)):
            return None
        if self.limit is not None and sum(self.counts[k] for k in REQUEST_KINDS) >= self.limit:
            return None
        if self._rng.random() >= self.rate:
            return None
        kinds = [k for k in REQUEST_KINDS if k in self.kinds and (k != "409" or method == "POST")]
        if not kinds:
            return None
        kind = self._rng.choice(kinds)
        self.counts[kind] += 1
        return kind

    def server_error(self) -> int:
        return self._rng.choice((500, 503))

    def delay(self) -> float:
        return self._rng.uniform(*self.latency)

    def watch_fault(self) -> tuple[str, float] | None:
        """(kind, after how many seconds) for a new watch stream, or None."""
        if "watch-silent" in self.kinds and self.rate > 0 and self._rng.random() < self.rate:
            self.counts["watch-silent"] += 1
            return "watch-silent", self._rng.uniform(0.2, 1.0) * self.watch_seconds
        if "watch-close" in self.kinds and self.watch_seconds > 0 and self.rate > 0:
            self.counts["watch-close"] += 1
            return "watch-close", self._rng.uniform(0.5, 1.5) * self.watch_seconds
        return None
