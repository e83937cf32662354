"""A new call handed to the keeper: what the edge tells it, and where the PBX leg goes.

The edge (Kamailio) routes the carrier's INVITE to a keeper and says, in headers it sets:

- ``X-Samu-Tenant``: the tenant the call belongs to (``samu-30``);
- ``X-Samu-Targets``: the tenant's PBX set, active first, as Kamailio's dispatcher holds it
  (``<sip:10.0.0.5:5060>, <sip:10.0.1.5:5060>``): where the PBX leg is tried in order at
  set-up, and where a rescue looks for the next PBX.

Other ``X-Samu-*`` headers of the INVITE go on to the PBX, except those the keeper itself
writes (the rescue headers): a carrier's copy of them is never believed.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass

from samu_keeper.core import rescue

TENANT = "X-Samu-Tenant"
TARGETS = "X-Samu-Targets"
#: Written by the keeper only: dropped from what the carrier sent.
OWN_HEADERS = frozenset(
    h.lower()
    for h in (
        TARGETS,
        rescue.RESCUED,
        rescue.CALLER,
        rescue.QUEUE,
        rescue.POSITION,
        rescue.ORIGINAL_CALL_ID,
    )
)
MAX_TARGETS = 16
_TENANT = re.compile(r"^samu-[0-9a-z]{1,3}$")
#: a host as the keeper takes one: a name, an IPv4 address, or an IPv6 one in brackets
HOST = r"[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]"
_URI = re.compile(rf"^sip:(?P<host>{HOST})(?::(?P<port>\d{{1,5}}))?$")


class SetupError(ValueError):
    """An INVITE the keeper cannot place (names the header and what the edge must send)."""


@dataclass(frozen=True)
class Setup:
    tenant: str
    targets: tuple[str, ...]
    #: ``X-Samu-*`` headers to pass on to the PBX, in the INVITE's order
    passed: tuple[tuple[str, str], ...] = ()


def address(uri: str) -> tuple[str, int]:
    """``sip:host[:port]`` -> (host, port); the port defaults to 5060."""
    found = _URI.match(uri.strip())
    if found is None:
        raise SetupError(f"PBX target {uri!r} is not sip:<host>[:<port>]")
    port = int(found["port"] or 5060)
    if not 0 < port < 65536:
        raise SetupError(f"PBX target {uri!r}: port {port} is not 1-65535")
    return found["host"].strip("[]"), port


def _targets(value: str) -> tuple[str, ...]:
    found = []
    for item in value.split(","):
        uri = item.strip().strip("<>").strip()
        if uri:
            address(uri)
            if uri not in found:
                found.append(uri)
    return tuple(found)


def parse(headers: Sequence[tuple[str, str]]) -> Setup:
    """The set-up of a call from its INVITE's headers (name, value) in order."""
    by_name: dict[str, list[str]] = {}
    for name, value in headers:
        by_name.setdefault(name.lower(), []).append(value.strip())
    tenants = by_name.get(TENANT.lower(), [])
    if len(tenants) != 1 or not _TENANT.match(tenants[0]):
        raise SetupError(
            f"header {TENANT}: the edge must set exactly one, the call's tenant "
            f"(samu-<département>), got {tenants!r}"
        )
    try:
        targets = _targets(",".join(by_name.get(TARGETS.lower(), [])))
    except SetupError as exc:
        raise SetupError(
            f"header {TARGETS}: {exc}; the edge must list the tenant's PBX set"
        ) from exc
    if not targets or len(targets) > MAX_TARGETS:
        raise SetupError(
            f"header {TARGETS}: the edge must list the tenant's PBX set (1 to {MAX_TARGETS} "
            f"sip:<host>:<port> URIs, active first), got {len(targets)}"
        )
    passed = tuple(
        (name, value.strip())
        for name, value in headers
        if name.lower().startswith("x-samu-")
        and name.lower() not in OWN_HEADERS
        and name.lower() != TENANT.lower()
    )
    return Setup(tenant=tenants[0], targets=targets, passed=passed)


def tries_next(code: int) -> bool:
    """Does a PBX's final answer to the set-up INVITE move the call to the next target?

    408 (no answer in time, the keeper's own set-up timer included) and 5xx: that PBX cannot
    take the call now, the next can. Anything else (486/600 saturated, 4xx, 6xx) is the
    call's answer and goes back to the edge, whose routing decides (overflow to the partner
    SAMU, secours): the keeper never second-guesses it.
    """
    return code == 408 or 500 <= code <= 599


def pbx_headers(
    passed: Sequence[tuple[str, str]],
    call_id: str,
    rescue_headers: Sequence[tuple[str, str]] = (),
) -> tuple[tuple[str, str], ...]:
    """The headers of a PBX leg's INVITE: what the edge passed on, the carrier Call-ID (the
    PBX's recording and the ledger name the call by it) and, on a rescue, the rescue headers."""
    own = [(rescue.ORIGINAL_CALL_ID, call_id)]
    own += [(n, v) for n, v in rescue_headers if n.lower() != rescue.ORIGINAL_CALL_ID.lower()]
    return (*passed, *own)
