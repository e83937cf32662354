"""Read SamuTenant YAML files and validate every document in them.

Shared by `samuctl tenant ...` and the tests; pure apart from reading the files.
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samu_operator.inputs.yamlfiles import InputError, load_all
from samu_operator.model.errors import FieldError, parse_tenant, tenant_errors
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
    """(label, document) for each YAML document of a file, read strictly (UTF-8, no binary,
    no repeated key: see ``yamlfiles``); raises InputError naming the file and the fix."""
    docs = load_all(path, "SamuTenant file")
    if len(docs) == 1:
        return [(str(path), docs[0])]
    return [(f"{path}#{i}", d) for i, d in enumerate(docs)]


def check_files(paths: list[str], *, whole_set: bool = False) -> list[TenantFileResult]:
    """Every document of every file, then the checks across documents (one tenant per
    département, each number claimed once; with ``whole_set``, each partner among them)."""
    results: list[TenantFileResult] = []
    for name in paths:
        try:
            documents = load_documents(Path(name))
        except InputError as exc:
            results.append(TenantFileResult(name, errors=[FieldError("(file)", exc.message)]))
            continue
        if not documents:
            results.append(
                TenantFileResult(
                    name, errors=[FieldError("(file)", "holds no document: write a SamuTenant")]
                )
            )
        for label, doc in documents:
            items = doc.get("items") if _is_list(doc) else [doc]
            for i, item in enumerate(items or []):
                source = f"{label}#items[{i}]" if _is_list(doc) else label
                errors = tenant_errors(item)
                tenant = None if errors else parse_tenant(item)
                results.append(TenantFileResult(source, tenant, errors))
    _cross_checks(results, whole_set)
    return results


def _is_list(doc: Any) -> bool:
    """A `kubectl get samu -o yaml` List (kind List, items)."""
    return (
        isinstance(doc, dict) and doc.get("kind") == "List" and isinstance(doc.get("items"), list)
    )


def _cross_checks(results: list[TenantFileResult], whole_set: bool) -> None:
    """What the API server and the edge refuse across tenants, added to the later document."""
    names: dict[str, str] = {}
    numbers: dict[str, tuple[str, str]] = {}
    for r in results:
        if r.tenant is None:
            continue
        first = names.setdefault(r.tenant.name, r.source)
        if first != r.source:
            r.errors.append(
                FieldError(
                    "metadata.name",
                    f"{r.tenant.name!r} is already defined in {first}: "
                    "one SamuTenant per département, keep one of the two",
                )
            )
        for i, number in enumerate(r.tenant.spec.numbers):
            owner = numbers.setdefault(number, (r.tenant.name, r.source))
            if owner[0] != r.tenant.name:
                r.errors.append(
                    FieldError(
                        f"spec.numbers[{i}]",
                        f"{number} is already claimed by {owner[0]} ({owner[1]}): "
                        "a number routes to one SAMU only, remove it from one of them",
                    )
                )
    if not whole_set:
        return
    for r in results:
        overflow = r.tenant.spec.overflow if r.tenant else None
        if overflow and overflow.partner not in names:
            r.errors.append(
                FieldError(
                    "spec.overflow.partner",
                    f"{overflow.partner!r} is not among the tenants given: "
                    "add its file, or name a partner SAMU that is",
                )
            )
