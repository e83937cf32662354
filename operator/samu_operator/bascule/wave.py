"""The wave file: which SAMU move together, in what order, one by one or all at once.

```yaml
wave: nuit-1                 # a name for the report
strategy: one-by-one         # or all-at-once
tenants: [samu-30, samu-13]  # in order
```
Read as strictly as a SamuTenant (yamlfiles: UTF-8, no duplicate key), validated by a
pydantic model whose errors name the field and the fix (model/errors.py's wording).
"""

from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator

from samu_operator.inputs.yamlfiles import InputError, load_all
from samu_operator.model.base import CrdModel, unique
from samu_operator.model.errors import FieldError, field_errors
from samu_operator.model.types import DnsLabel, TenantName


class Strategy(StrEnum):
    ONE_BY_ONE = "one-by-one"
    ALL_AT_ONCE = "all-at-once"


class Wave(CrdModel):
    """A wave of the bascule."""

    wave: DnsLabel = Field(description="the wave's name, e.g. 'nuit-1' (a DNS label)")
    strategy: Strategy = Field(
        default=Strategy.ONE_BY_ONE,
        description="one-by-one: check and flip each SAMU in turn, stop at the first failed "
        "check; all-at-once: check every SAMU, then flip them together",
    )
    tenants: list[TenantName] = Field(
        min_length=1, max_length=101, description="the SamuTenants of the wave, in order"
    )

    @field_validator("tenants")
    @classmethod
    def _unique_tenants(cls, tenants: list[str]) -> list[str]:
        return unique(tenants, "tenant", "list each SAMU once")


class WaveInvalid(ValueError):
    def __init__(self, source: str, errors: list[FieldError]) -> None:
        super().__init__("\n".join(f"{source}: {e}" for e in errors))
        self.errors = errors


def parse_wave(doc: Any, source: str) -> Wave:
    if not isinstance(doc, dict):
        raise InputError(source, "a wave file is a YAML mapping (wave, strategy, tenants)")
    try:
        return Wave.model_validate(doc, by_alias=True, by_name=False)
    except ValidationError as exc:
        raise WaveInvalid(source, field_errors(exc)) from None


def load_wave(path: Path) -> Wave:
    """The wave in ``path``; InputError (unreadable, not one document) or WaveInvalid."""
    docs = load_all(path, "wave file")
    if len(docs) != 1:
        raise InputError(
            str(path), f"holds {len(docs)} documents: a wave file is one mapping (wave, tenants)"
        )
    return parse_wave(docs[0], str(path))
