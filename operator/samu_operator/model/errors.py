"""Turn pydantic's errors into field paths and fixes a person can act on."""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, get_args

from pydantic import ValidationError
from pydantic.alias_generators import to_camel

from samu_operator.model.base import CrossFieldErrors
from samu_operator.model.departments import department_error
from samu_operator.model.tenant import SamuTenant, tenant_name_for


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


# Messages in the platform's own words, for pydantic's error types; {input} and the ctx keys
# of each type are filled in. Pydantic's own text names internal classes ("instance of
# QueueSpec") and speaks of "validation": never shown to a user.
_MESSAGES: dict[str, str] = {
    "missing": "required: add it",
    "extra_forbidden": "unknown field: remove it or check its spelling (fields are camelCase)",
    "greater_than_equal": "{input} is too small: set at least {ge}",
    "greater_than": "{input} is too small: set more than {gt}",
    "less_than_equal": "{input} is too large: set at most {le}",
    "less_than": "{input} is too large: set less than {lt}",
    "too_short": "{actual_length} given: give at least {min_length}",
    "too_long": "{actual_length} given: give at most {max_length}",
    "string_too_short": "empty: write at least {min_length} character(s)",
    "string_too_long": "longer than {max_length} characters: shorten it",
    "int_parsing": "{input!r} is not a whole number: write digits only, no quotes or decimals",
    "int_type": "{input!r} is not a whole number: write digits only, no quotes or decimals",
    "int_from_float": "{input!r} is not a whole number: write digits only, no quotes or decimals",
    "float_parsing": "{input!r} is not a number: write one, e.g. 1.5",
    "float_type": "{input!r} is not a number: write one, e.g. 1.5",
    "string_type": 'write text here: put numbers in quotes, e.g. "{input}"',
    "list_type": "write a list here ([a, b] or one '- item' per line)",
    "model_type": "write a mapping of fields here (key: value)",
    "model_attributes_type": "write a mapping of fields here (key: value)",
    "dict_type": "write a mapping of fields here (key: value)",
    "bool_type": "write true or false",
    "bool_parsing": "write true or false",
    "literal_error": "{input!r} is not allowed here: use {expected}",
    "enum": "{input!r} is not allowed here: use {expected}",
}
#: Error types whose fix is clearer with the field's reason from the model.
_WITH_REASON = {"missing", "too_short", "too_long", "greater_than_equal", "less_than_equal"}


def _field_info(loc: tuple[str | int, ...]) -> Any:
    """The pydantic FieldInfo at a camelCase path of SamuTenant, or None."""
    model: Any = SamuTenant
    info = None
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(model, "model_fields", None)
        if not fields:
            return None
        info = next((f for n, f in fields.items() if (f.alias or to_camel(n)) == part), None)
        if info is None:
            return None
        model = _model_of(info.annotation)
    return info


def _model_of(annotation: Any) -> Any:
    """The model class inside ``X``, ``list[X]`` or ``X | None``, if any."""
    if isinstance(annotation, type) and hasattr(annotation, "model_fields"):
        return annotation
    for arg in get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _message(err: Mapping[str, Any]) -> str:
    loc = tuple(err["loc"])
    ctx = dict(err.get("ctx") or {})
    kind = err["type"]
    template = _MESSAGES.get(kind)
    if template is None:
        return f"{err.get('input')!r} is not valid here: see 'samuctl tenant explain'"
    if kind == "extra_forbidden" and isinstance(loc[-1], str):
        known = _field_info((*loc[:-1], to_camel(loc[-1])))
        if known is not None and to_camel(loc[-1]) != loc[-1]:
            return f"unknown field: write it {to_camel(loc[-1])!r} (fields are camelCase)"
    try:
        message = template.format(input=err.get("input"), **ctx)
    except (KeyError, IndexError, ValueError):
        message = template.split(":")[-1].strip()
    if kind in _WITH_REASON:
        info = _field_info(loc)
        if info is not None and info.description:
            message += f" ({info.description})"
    return message


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Every error of a pydantic model of the platform (a SamuTenant, a wave file), with its
    path and fix in the platform's words."""
    return _from_pydantic(exc)


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
            message = str(cause) if cause else "not a valid value: see 'samuctl tenant explain'"
        else:
            message = _message(err)
        found.append(FieldError(format_path(loc), message))
    return found


#: The fields of a resource as `kubectl apply` sends it; the API server refuses others.
TOP_LEVEL = ("apiVersion", "kind", "metadata", "spec", "status")


def _raw_errors(doc: Mapping[str, Any]) -> list[FieldError]:
    """Checks on the raw document that pydantic would report late or not at all."""
    errors = [
        FieldError(str(key), f"unknown field: a SamuTenant has only {', '.join(TOP_LEVEL)}")
        for key in doc
        if key not in TOP_LEVEL
    ]
    return errors


def _name_mismatch(doc: Mapping[str, Any]) -> FieldError | None:
    """The name/département mismatch, found even when other spec fields are wrong (the
    model's own check only runs on an otherwise valid spec)."""
    meta, spec = doc.get("metadata"), doc.get("spec")
    if not isinstance(meta, Mapping) or not isinstance(spec, Mapping):
        return None
    name, department = meta.get("name"), spec.get("department")
    if not isinstance(name, str) or not isinstance(department, str):
        return None
    if department_error(department) is not None:
        return None
    expected = tenant_name_for(department)
    if name == expected:
        return None
    return FieldError(
        "metadata.name",
        f"{name!r} does not match spec.department {department!r}: name this tenant {expected!r}",
    )


def tenant_errors(doc: Any) -> list[FieldError]:
    """Every error of a SamuTenant document (empty when it is valid)."""
    if not isinstance(doc, Mapping):
        return [FieldError("(resource)", "a SamuTenant is a YAML mapping: check the file")]
    errors = _raw_errors(doc)
    try:
        parse_tenant(doc)
    except ValidationError as exc:
        errors += _from_pydantic(exc)
    if errors and not any(e.path == "metadata.name" for e in errors):
        mismatch = _name_mismatch(doc)
        if mismatch is not None:
            errors.insert(0, mismatch)
    return errors


def parse_tenant(doc: Any) -> SamuTenant:
    """Parse by the wire names only (``displayName``), as the API server does: the Python
    names (``display_name``) are refused as unknown fields."""
    return SamuTenant.model_validate(doc, by_alias=True, by_name=False)


def validate_tenant(doc: Any) -> SamuTenant:
    """Parse a SamuTenant, or raise TenantInvalid listing every error with its path and fix."""
    errors = tenant_errors(doc)
    if errors:
        raise TenantInvalid(errors)
    return parse_tenant(doc)
