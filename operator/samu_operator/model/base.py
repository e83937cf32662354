"""Shared pydantic configuration: camelCase on the wire, snake_case in Python, unknown keys refused."""

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel


class CrdModel(BaseModel):
    """Base of every spec object: immutable, camelCase aliases, no unknown field."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )


class CrossFieldErrors(ValueError):
    """Several errors found by a model validator, each with its own path below the model.

    Pydantic reports a model validator's ValueError at the model's own location; this class
    carries the sub-paths so that ``errors.py`` can name the exact field and its fix.
    """

    def __init__(self, errors: list[tuple[tuple[str | int, ...], str]]) -> None:
        super().__init__("; ".join(msg for _, msg in errors))
        self.errors = errors


def duplicates(
    values: list[Any], what: str, fix: str, field: str | None = None
) -> list[tuple[tuple[str | int, ...], str]]:
    """Each repeated value, located at its index (and sub-field) relative to the list."""
    seen: dict[Any, int] = {}
    errors: list[tuple[tuple[str | int, ...], str]] = []
    for i, value in enumerate(values):
        if value in seen:
            where: tuple[str | int, ...] = (i, field) if field else (i,)
            errors.append((where, f"{what} {value!r} repeats item {seen[value]}: {fix}"))
        else:
            seen[value] = i
    return errors


def unique(values: list[str], what: str, fix: str) -> list[str]:
    errors = duplicates(values, what, fix)
    if errors:
        raise CrossFieldErrors(errors)
    return values
