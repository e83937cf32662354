"""Where the SIP edge sends a SAMU's new calls: its routing mode, its fallbacks, its secours.

A centre moving to the platform (the bascule) keeps its old telephony platform reachable as
a SIP trunk over TLS (``legacy``) until a flip of ``mode`` sends its new calls to its PBX
(``platform``). Calls in progress never move: they follow their Record-Route.

The edge tries, in order, the mode's destination and then ``fallbacks`` (the mode itself,
when listed, is skipped: one list serves both modes, so a flip changes ``mode`` alone).
The centre's own destinations (``platform``, ``legacy``) come first, then the partner SAMU
(``partner``, débordement), then ``secours``: numbers the carrier reaches (the centre's
backup lines, a neighbouring centre's emergency trunk), the last resort instead of an error.
"""

import re
from enum import StrEnum
from typing import Annotated

from pydantic import Field, WithJsonSchema, field_validator, model_validator

from samu_operator.model.base import CrdModel, CrossFieldErrors, duplicates, unique
from samu_operator.model.types import FreeText, PhoneNumber, _checked

# A SIP trunk over TLS: sips:host[:port] or sip:host[:port];transport=tls. Host: a DNS name or
# an IPv4 address; no user part, no other parameter (the edge adds what it needs).
_HOST = (
    r"([A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*"
)
_PORT = (
    r"(:([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"
)
TRUNK_PATTERN = rf"^(sips:{_HOST}{_PORT}|sip:{_HOST}{_PORT};transport=tls)$"


def _trunk_error(value: str) -> str | None:
    if re.match(TRUNK_PATTERN, value):
        return None
    if re.match(rf"^sip:{_HOST}{_PORT}(;transport=(udp|tcp))?$", value):
        return (
            f"{value!r} is not a TLS trunk: the old platform is reached over TLS only, write "
            f"'sips:<host>:5061' or '{value.split(';')[0]};transport=tls'"
        )
    return (
        f"{value!r} is not a SIP trunk address: write 'sips:<host>[:port]' or "
        "'sip:<host>[:port];transport=tls' (a DNS name or IPv4 address, no user part)"
    )


TrunkUri = Annotated[
    str,
    _checked(_trunk_error),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": TRUNK_PATTERN,
            "maxLength": 300,
            "description": "SIP trunk over TLS: sips:host[:port] or sip:host[:port];transport=tls",
        }
    ),
]


class RoutingMode(StrEnum):
    LEGACY = "legacy"
    PLATFORM = "platform"


class Fallback(StrEnum):
    PLATFORM = "platform"
    LEGACY = "legacy"
    PARTNER = "partner"
    SECOURS = "secours"


#: The order the edge can try destinations in: the centre's own first, the partner next,
#: secours last (see core/routing.py: the own ones share one dispatcher set).
_RANK = {Fallback.PLATFORM: 0, Fallback.LEGACY: 0, Fallback.PARTNER: 1, Fallback.SECOURS: 2}


class LegacySpec(CrdModel):
    """The centre's old telephony platform, reached by the edge as a SIP trunk over TLS."""

    trunks: list[TrunkUri] = Field(
        min_length=1,
        max_length=4,
        description="the old platform's SIP trunk addresses over TLS, tried in this order "
        "(e.g. its two session border controllers)",
    )
    description: FreeText = Field(
        default="",
        max_length=200,
        description="what the old platform is, for people (vendor, site); never read by the edge",
    )

    @field_validator("trunks")
    @classmethod
    def _unique_trunks(cls, trunks: list[str]) -> list[str]:
        return unique(trunks, "trunk", "list each trunk once")


class SecoursDestination(CrdModel):
    """A number the carrier reaches, tried when no PBX and no partner can take a call."""

    number: PhoneNumber = Field(description="E.164 number the carrier delivers the call to")
    description: FreeText = Field(
        default="",
        max_length=100,
        description="whose line it is, for people (e.g. 'lignes de secours du CRRA'); "
        "never read by the edge",
    )


class RoutingSpec(CrdModel):
    """Where the edge sends this SAMU's new calls, what it tries next, and its last resort."""

    mode: RoutingMode = Field(
        default=RoutingMode.PLATFORM,
        description="where new calls go first: 'platform' (this tenant's PBX) or 'legacy' "
        "(the old platform, routing.legacy); a change moves new calls only",
    )
    legacy: LegacySpec | None = Field(
        default=None, description="the old platform, while the centre has one"
    )
    fallbacks: list[Fallback] | None = Field(
        default=None,
        max_length=4,
        description="tried in order after the mode's destination (the mode itself is "
        "skipped): platform and legacy first, then partner (spec.overflow), secours last; "
        "default: partner (with spec.overflow), then secours (with routing.secours)",
    )
    secours: list[SecoursDestination] = Field(
        default_factory=list,
        max_length=5,
        description="numbers the carrier reaches, tried in order when neither a PBX nor the "
        "partner can take a call (instead of an error)",
    )

    @model_validator(mode="after")
    def _consistent(self) -> "RoutingSpec":
        errors: list[tuple[tuple[str | int, ...], str]] = []
        if self.mode == RoutingMode.LEGACY and self.legacy is None:
            errors.append(
                (
                    ("mode",),
                    "'legacy' needs the old platform's trunk: add routing.legacy.trunks, "
                    "or set mode 'platform'",
                )
            )
        errors += [
            (("secours", *where), msg)
            for where, msg in duplicates(
                [s.number for s in self.secours],
                "number",
                "list each secours number once",
                field="number",
            )
        ]
        errors += self._fallback_errors()
        if errors:
            raise CrossFieldErrors(errors)
        return self

    def _fallback_errors(self) -> list[tuple[tuple[str | int, ...], str]]:
        if self.fallbacks is None:
            return []
        errors: list[tuple[tuple[str | int, ...], str]] = []
        seen: dict[Fallback, int] = {}
        for i, step in enumerate(self.fallbacks):
            where: tuple[str | int, ...] = ("fallbacks", i)
            if step in seen:
                errors.append((where, f"{step.value!r} repeats item {seen[step]}: list it once"))
                continue
            seen[step] = i
            if step == Fallback.LEGACY and self.legacy is None:
                errors.append(
                    (where, "'legacy' needs routing.legacy.trunks: add them or remove 'legacy'")
                )
            if step == Fallback.SECOURS and not self.secours:
                errors.append(
                    (where, "'secours' needs routing.secours numbers: add them or remove it")
                )
            later = [s for s in self.fallbacks[i + 1 :] if _RANK[s] < _RANK[step]]
            if later:
                errors.append(
                    (
                        where,
                        f"{step.value!r} comes before {later[0].value!r}: the edge tries the "
                        "centre's own destinations (platform, legacy) first, then partner, "
                        "then secours; reorder the list",
                    )
                )
        if self.secours and Fallback.SECOURS not in seen:
            errors.append(
                (
                    ("fallbacks",),
                    "routing.secours is set but 'secours' is not listed: add it last, "
                    "or remove routing.secours",
                )
            )
        return errors


def spec_errors(
    routing: RoutingSpec, partner: str | None, numbers: list[str]
) -> list[tuple[tuple[str | int, ...], str]]:
    """What routing cannot be given the rest of the spec: its partner SAMU (spec.overflow)
    and its own numbers (spec.numbers); paths relative to spec.routing."""
    errors: list[tuple[tuple[str | int, ...], str]] = []
    fallbacks = routing.fallbacks
    if fallbacks is not None:
        if Fallback.PARTNER in fallbacks and partner is None:
            errors.append(
                (
                    ("fallbacks", fallbacks.index(Fallback.PARTNER)),
                    "'partner' needs a partner SAMU: set spec.overflow.partner, or remove it",
                )
            )
        if partner is not None and Fallback.PARTNER not in fallbacks:
            errors.append(
                (
                    ("fallbacks",),
                    f"spec.overflow names {partner!r} but 'partner' is not listed: add it "
                    "after platform/legacy, or remove spec.overflow",
                )
            )
    for i, secours in enumerate(routing.secours):
        if secours.number in numbers:
            errors.append(
                (
                    ("secours", i, "number"),
                    f"{secours.number!r} is one of this SAMU's own numbers (spec.numbers): "
                    "its calls would come back here; name a line outside the platform",
                )
            )
    return errors


def chain(routing: RoutingSpec, has_partner: bool) -> tuple[Fallback, ...]:
    """Everything the edge tries for a new call, in order: the mode's destination, then the
    fallbacks (the default ones when not listed), the mode itself skipped."""
    first = Fallback(routing.mode.value)
    if routing.fallbacks is None:
        rest = [Fallback.PARTNER] if has_partner else []
        rest += [Fallback.SECOURS] if routing.secours else []
    else:
        rest = [s for s in routing.fallbacks if s != first]
    return (first, *rest)
