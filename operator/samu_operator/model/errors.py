"""Turn pydantic's errors into field paths and fixes a person can act on."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from samu_operator.model.base import CrossFieldErrors
from samu_operator.model.tenant import SamuTenant


@dataclass(frozen=True)
class FieldError:
    """One problem in a resource: where (``spec.pbx.zones[1]``) and what to do about it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class TenantInvalid(ValueError):
    """A SamuTenant that must not be applied; carries every error, not just the first."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


def format_path(loc: tuple[str | int, ...]) -> str:
    """``('spec', 'pbx', 'zones', 1)`` -> ``spec.pbx.zones[1]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "(resource)"


# Fixes for pydantic's own error types; the constrained types bring their own messages.
_FIXES: dict[str, str] = {
    "missing": "add it",
    "extra_forbidden": "unknown field: remove it or check its spelling (fields are camelCase)",
    "greater_than_equal": "set a value of at least {ge}",
    "less_than_equal": "set a value of at most {le}",
    "too_short": "give at least {min_length} item(s)",
    "too_long": "give at most {max_length} item(s)",
    "string_too_short": "give at least {min_length} character(s)",
    "string_too_long": "shorten it to {max_length} characters at most",
    "int_parsing": "write a whole number",
    "int_type": "write a whole number",
    "int_from_float": "write a whole number",
    "string_type": 'write a string (quote numbers such as "30")',
    "list_type": "write a list",
    "model_type": "write a mapping of fields",
    "model_attributes_type": "write a mapping of fields",
    "dict_type": "write a mapping of fields",
    "bool_type": "write true or false",
    "bool_parsing": "write true or false",
    "literal_error": "use {expected}",
}


def _from_pydantic(exc: ValidationError) -> list[FieldError]:
    found: list[FieldError] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        ctx = err.get("ctx") or {}
        cause = ctx.get("error")
        if isinstance(cause, CrossFieldErrors):
            found += [FieldError(format_path(loc + sub), msg) for sub, msg in cause.errors]
            continue
        if err["type"] == "value_error":
            message = str(cause) if cause else err["msg"]
        else:
            fix = _FIXES.get(err["type"])
            message = f"{err['msg']}: {fix.format(**ctx)}" if fix else err["msg"]
        found.append(FieldError(format_path(loc), message))
    return found


def tenant_errors(doc: Any) -> list[FieldError]:
    """Every error of a SamuTenant document (empty when it is valid)."""
    if not isinstance(doc, Mapping):
        return [FieldError("(resource)", "a SamuTenant is a YAML mapping: check the file")]
    try:
        SamuTenant.model_validate(doc)
    except ValidationError as exc:
        return _from_pydantic(exc)
    return []


def validate_tenant(doc: Any) -> SamuTenant:
    """Parse a SamuTenant, or raise TenantInvalid listing every error with its path and fix."""
    errors = tenant_errors(doc)
    if errors:
        raise TenantInvalid(errors)
    return SamuTenant.model_validate(doc)
