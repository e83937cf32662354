"""When is the PBX leg of a kept call dead? One verdict from every signal the keeper sees.

Signals, fastest first (typical detection time on a healthy edge):

- ``transport``: the PBX's socket refuses or resets (TCP/TLS reset, ICMP unreachable):
  immediate, but a SIGSTOPped or partitioned PBX never produces it.
- ``response``: an in-dialog request answered 408 (timeout) or 481 (dialog gone): the
  PBX lost the call; immediate when the keeper sends something in-dialog.
- ``media``: rtpengine saw no RTP from the PBX leg for ``media_silence_s`` (default 1.0 s):
  the only signal that catches a frozen PBX within the 2 s budget, since an ARM's phone
  always sends RTP (comfort noise or audio) while a call is answered.
- ``probe``: the edge's OPTIONS probe of the PBX failed ``probe_failures`` times in a row:
  seconds, a confirmation rather than the trigger.

A single signal among transport/response/media is enough; a failed probe alone is enough
only once it reached its threshold. The verdict names the signal that decided it.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: In-dialog final responses that mean the PBX no longer holds the dialog.
DEAD_DIALOG_CODES = frozenset({408, 481})
DEFAULT_MEDIA_SILENCE_S = 1.0
DEFAULT_PROBE_FAILURES = 3


class SignalError(ValueError):
    """A leg observation the keeper cannot judge (names the field and what it must be)."""


@dataclass(frozen=True)
class Verdict:
    dead: bool
    reason: str  # "transport" | "response" | "media" | "probe" | "alive"
    detail: str


def _number(obs: Mapping[str, Any], field: str, default: float) -> float:
    value = obs.get(field, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise SignalError(f"leg observation field {field!r} must be a number >= 0, got {value!r}")
    return float(value)


def judge(
    observation: Mapping[str, Any],
    media_silence_s: float = DEFAULT_MEDIA_SILENCE_S,
    probe_failures: int = DEFAULT_PROBE_FAILURES,
) -> Verdict:
    """The PBX leg's verdict from one observation of it.

    ``observation`` keys (all optional): ``transportError`` (str, the socket error),
    ``lastInDialogStatus`` (int, the last in-dialog final response code),
    ``mediaSilentSeconds`` (seconds since rtpengine last saw RTP from the PBX leg),
    ``probeFailures`` (consecutive failed OPTIONS probes of the PBX).
    """
    error = observation.get("transportError")
    if error:
        return Verdict(True, "transport", str(error))
    status = observation.get("lastInDialogStatus")
    if status is not None:
        if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 699:
            raise SignalError(
                f"leg observation field 'lastInDialogStatus' must be a SIP status code "
                f"(100-699), got {status!r}"
            )
        if status in DEAD_DIALOG_CODES:
            return Verdict(True, "response", f"in-dialog request answered {status}")
    silent = _number(observation, "mediaSilentSeconds", 0.0)
    if silent >= media_silence_s:
        return Verdict(True, "media", f"no RTP from the PBX for {silent:.2f} s")
    failures = _number(observation, "probeFailures", 0)
    if failures >= probe_failures:
        return Verdict(True, "probe", f"{int(failures)} OPTIONS probes failed in a row")
    return Verdict(False, "alive", "")
