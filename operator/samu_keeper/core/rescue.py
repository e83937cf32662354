"""What the keeper does when a kept call's PBX leg is dead: a rescue plan, or a call-back record.

The plan names the next PBX (the tenant's dispatcher set in order, the dead one and any already
tried skipped), the prompt to play to the caller, and the headers of the new INVITE that tell
the PBX who the caller is, which queue and which position had the call, and that it is rescued
(the PBX puts a rescued call ahead of every queue, offered first to the same position).
The carrier leg is never touched: no re-INVITE, no BYE. When no PBX is left, the call still
stays with the caller (the prompt plays) and a ledger record is made for call-back, in the
shape ``samu_operator.core.dropped`` publishes.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from samu_keeper.core.call_state import CallState

#: Headers of a rescue INVITE (the PBX contract reads them).
RESCUED = "X-Samu-Rescued"  # "<n>;from=<dead PBX URI>": the call's n-th rescue
CALLER = "X-Samu-Caller"  # the caller as the carrier presented it
QUEUE = "X-Samu-Queue"  # the queue that had the call
POSITION = "X-Samu-Position"  # the ARM position that had answered it
ORIGINAL_CALL_ID = "X-Samu-Call-Id"  # the carrier leg's Call-ID (recordings, ledger)
PROMPT = "restez-en-ligne"  # the prompt's name in the keeper's media store
#: A call rescued this many times is not tried again: it goes to the ledger.
MAX_RESCUES = 3


@dataclass(frozen=True)
class Rescue:
    target: str
    headers: tuple[tuple[str, str], ...]
    prompt: str = PROMPT


@dataclass(frozen=True)
class CallBack:
    """No PBX can take the call: the ledger record (``core.dropped``) for the ARMs' call-back."""

    record: dict[str, object]
    reason: str


def headers(state: CallState, dead_pbx: str) -> tuple[tuple[str, str], ...]:
    found = [
        (RESCUED, f"{state.rescues + 1};from={dead_pbx}"),
        (CALLER, state.caller),
        (ORIGINAL_CALL_ID, state.call_id),
    ]
    if state.queue:
        found.append((QUEUE, state.queue))
    if state.position:
        found.append((POSITION, state.position))
    return tuple(found)


def plan(
    state: CallState, dispatcher: Iterable[str], tried: Iterable[str], now: float
) -> Rescue | CallBack:
    """The rescue of ``state`` whose PBX (``state.pbx_uri``) is dead.

    ``dispatcher`` is the tenant's PBX set, active first (the operator rewrites it on
    promotion); ``tried`` the PBXs this rescue already tried and failed.
    """
    skip = set(tried) | {state.pbx_uri}
    target = next((uri for uri in dispatcher if uri not in skip), None)
    if target is not None and state.rescues < MAX_RESCUES:
        return Rescue(target=target, headers=headers(state, state.pbx_uri))
    reason = "no PBX left in the dispatcher set" if target is None else "too many rescues"
    record: dict[str, object] = {
        "callId": state.call_id,
        "tenant": state.tenant,
        "caller": state.caller,
        "at": now,
        "answeredAt": state.answered_at,
        "queue": state.queue,
        "position": state.position,
        "reason": f"rescue failed: {reason}",
    }
    return CallBack(record=record, reason=reason)
