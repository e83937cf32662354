"""Constrained scalar types of the SamuTenant spec.

Each carries its own error message (with the fix) for Python callers and a JSON-schema
pattern for the CRD, so the API server and the operator reject the same inputs.
"""

import ipaddress
import re
import unicodedata
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, Field, WithJsonSchema

from samu_operator.model.departments import department_error, number_error

DEPARTMENT_PATTERN = r"^(0[1-9]|1[0-9]|2[1-9AB]|[3-8][0-9]|9[0-5]|97[1-6])$"
TENANT_NAME_PATTERN = r"^samu-(0[1-9]|1[0-9]|2[1-9ab]|[3-8][0-9]|9[0-5]|97[1-6])$"
ZONE_PATTERN = r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
# An OCI reference pinned by tag or digest; ':latest' and bare names are refused below.
IMAGE_PATTERN = r"^[a-z0-9][a-z0-9._/-]*(:[0-9]+)?[a-z0-9._/-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$"
CPU_PATTERN = r"^[0-9]+(\.[0-9]+)?m?$"
MEMORY_PATTERN = r"^[0-9]+(Ki|Mi|Gi|Ti|K|M|G|T)?$"
VITAL_DIGIT_PATTERN = r"^[0-9]$"
# Free text (names, transcripts) is written into Asterisk files as comments only: no control
# character may end the comment line. The CRD pattern holds what RE2 and Python both read; the
# model refuses the rest (format, private-use, surrogate, line/paragraph separators) itself.
FREE_TEXT_PATTERN = r"^[^\x00-\x1f\x7f]*$"
# A prompt file of the PBX image, as Asterisk names sounds: relative, no extension, no '..'.
PROMPT_PATTERN = r"^[a-z0-9][a-z0-9_-]*(/[a-z0-9][a-z0-9_-]*){0,3}$"
#: Unicode categories refused in free text: controls, format (bidi overrides, zero-width),
#: surrogates, private use, and line/paragraph separators (all can end or hide a line).
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})


def _checked(error_of: Callable[[str], str | None]) -> AfterValidator:
    def check(value: str) -> str:
        error = error_of(value)
        if error:
            raise ValueError(error)
        return value

    return AfterValidator(check)


def _pattern_error(pattern: str, what: str, fix: str) -> Callable[[str], str | None]:
    compiled = re.compile(pattern)

    def error_of(value: str) -> str | None:
        return None if compiled.match(value) else f"{value!r} is not {what}: {fix}"

    return error_of


def _image_error(value: str) -> str | None:
    if value.endswith(":latest"):
        return f"{value!r} uses ':latest': pin a version tag or an @sha256 digest"
    if not re.match(IMAGE_PATTERN, value):
        return (
            f"{value!r} is not a pinned image reference: write "
            "'registry/name:tag' or 'registry/name@sha256:<digest>'"
        )
    return None


def _free_text_error(value: str) -> str | None:
    for i, char in enumerate(value):
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            return (
                f"character {i} ({char!r}, U+{ord(char):04X}) is a control, format or "
                "line-break character: write one line of visible text"
            )
    return None


def _schema(pattern: str, description: str) -> WithJsonSchema:
    return WithJsonSchema({"type": "string", "pattern": pattern, "description": description})


Department = Annotated[
    str,
    _checked(department_error),
    _schema(DEPARTMENT_PATTERN, "INSEE département code: 01-95 (2A/2B, no 20) or 971-976"),
]
PhoneNumber = Annotated[
    str,
    _checked(number_error),
    _schema(r"^\+(33[1-9][0-9]{8}|(590|594|596|262)[0-9]{9}|508[0-9]{6})$", "French E.164"),
]
ZoneName = Annotated[
    str,
    _checked(
        _pattern_error(
            ZONE_PATTERN,
            "a zone name",
            "use the value of the nodes' label "
            "topology.kubernetes.io/zone (letters, digits, '-', '_', '.')",
        )
    ),
    _schema(ZONE_PATTERN, "availability zone: value of topology.kubernetes.io/zone"),
]
TenantName = Annotated[
    str,
    _checked(
        _pattern_error(
            TENANT_NAME_PATTERN,
            "a SamuTenant name",
            "name tenants 'samu-' + lower-case département code, e.g. 'samu-34'",
        )
    ),
    _schema(TENANT_NAME_PATTERN, "SamuTenant name: 'samu-' + lower-case département code"),
]
DnsLabel = Annotated[
    str,
    _checked(
        _pattern_error(
            DNS_LABEL_PATTERN,
            "a DNS label",
            "use lower-case letters, digits and '-', at most 63 characters",
        )
    ),
    _schema(DNS_LABEL_PATTERN, "DNS label (RFC 1123)"),
]
ImageRef = Annotated[str, _checked(_image_error), _schema(IMAGE_PATTERN, "pinned OCI image")]
CpuQuantity = Annotated[
    str,
    _checked(
        _pattern_error(
            CPU_PATTERN, "a CPU quantity", "write cores ('2', '0.5') or millicores ('500m')"
        )
    ),
    _schema(CPU_PATTERN, "CPU quantity"),
]
MemoryQuantity = Annotated[
    str,
    _checked(_pattern_error(MEMORY_PATTERN, "a memory quantity", "write e.g. '4Gi' or '512Mi'")),
    _schema(MEMORY_PATTERN, "memory quantity"),
]
Digit = Annotated[
    str,
    _checked(_pattern_error(VITAL_DIGIT_PATTERN, "a keypad digit", "use one digit '0'-'9'")),
    _schema(VITAL_DIGIT_PATTERN, "one DTMF digit"),
]
#: Free text keeps its field's own length limits and description in the CRD: only the
#: pattern is added (a WithJsonSchema would replace them).
FreeText = Annotated[
    str,
    _checked(_free_text_error),
    Field(json_schema_extra={"pattern": FREE_TEXT_PATTERN}),
]
PromptName = Annotated[
    str,
    _checked(
        _pattern_error(
            PROMPT_PATTERN,
            "a prompt name",
            "name a sound of the PBX image without extension, e.g. 'samu/greeting' "
            "(lower-case letters, digits, '-', '_', '/')",
        )
    ),
    Field(json_schema_extra={"pattern": PROMPT_PATTERN}),
]

# IPv4 network with no host bits (the centre's site ranges, checked by ipaddress below).
CIDR_PATTERN = r"^([0-9]{1,3}\.){3}[0-9]{1,3}/[0-9]{1,2}$"


def _cidr_error(value: str) -> str | None:
    try:
        ipaddress.IPv4Network(value, strict=True)
    except ValueError as exc:
        return (
            f"{value!r} is not an IPv4 network ({exc}): write e.g. '10.30.0.0/16' "
            "with no host bits set"
        )
    return None


Cidr = Annotated[str, _checked(_cidr_error), _schema(CIDR_PATTERN, "IPv4 network (CIDR)")]
