"""Read SamuTenant YAML files and validate every document in them.

Shared by `samuctl tenant ...` and the tests; pure apart from reading the files.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from samu_operator.model.errors import FieldError, tenant_errors
from samu_operator.model.tenant import SamuTenant


@dataclass
class TenantFileResult:
    """One YAML document of one file: its label, the tenant (when valid) and its errors."""

    source: str
    tenant: SamuTenant | None = None
    errors: list[FieldError] = field(default_factory=list)

    @property
    def summary(self) -> str:
        t = self.tenant
        if t is None:
            return ""
        s = t.spec
        return (
            f"{t.name}  {s.display_name}  zones={','.join(s.pbx.zones)}  "
            f"queues={len(s.queues)}  agents={s.capacity.agents}  "
            f"overflow={s.overflow.partner if s.overflow else '-'}"
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "valid": not self.errors,
            "name": self.tenant.name if self.tenant else None,
            "errors": [{"path": e.path, "message": e.message} for e in self.errors],
        }


def load_documents(path: Path) -> list[tuple[str, Any]]:
    """(label, document) for each YAML document of a file; a parse error becomes a document
    error so that one bad file never hides the others."""
    text = path.read_text(encoding="utf-8")
    docs = [d for d in yaml.safe_load_all(text) if d is not None]
    if len(docs) == 1:
        return [(str(path), docs[0])]
    return [(f"{path}#{i}", d) for i, d in enumerate(docs)]


def check_files(paths: list[str]) -> list[TenantFileResult]:
    results: list[TenantFileResult] = []
    for name in paths:
        path = Path(name)
        try:
            documents = load_documents(path)
        except OSError as exc:
            results.append(
                TenantFileResult(
                    name, errors=[FieldError("(file)", f"cannot read: {exc.strerror}")]
                )
            )
            continue
        except yaml.YAMLError as exc:
            results.append(
                TenantFileResult(name, errors=[FieldError("(file)", f"not valid YAML: {exc}")])
            )
            continue
        if not documents:
            results.append(TenantFileResult(name, errors=[FieldError("(file)", "no document")]))
        for label, doc in documents:
            errors = tenant_errors(doc)
            tenant = None if errors else SamuTenant.model_validate(doc)
            results.append(TenantFileResult(label, tenant, errors))
    return results
