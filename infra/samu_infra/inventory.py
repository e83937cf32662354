"""Declared resources as plain data: what the guardrails and the plan reason about.

Pure (no pulumi import): the same functions judge a mock run, a hand-written example in a
test, or (later) the resources of a real ``pulumi preview --json``.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from samu_infra.labels import TIER_KEY, ZONE_KEY


@dataclass(frozen=True)
class Declared:
    """One declared resource: its type token, logical name, id and inputs (camelCase)."""

    type: str
    name: str
    id: str = ""
    inputs: Mapping[str, Any] = field(default_factory=dict)
    secret_inputs: frozenset[str] = frozenset()

    @property
    def kind(self) -> str:
        """``openstack:compute/instance:Instance`` -> ``Instance``; providers -> ``Provider``."""
        if self.type.startswith("pulumi:providers:"):
            return "Provider"
        return self.type.rsplit(":", 1)[-1]

    @property
    def package(self) -> str:
        return self.type.split(":", 1)[0]

    def marks(self) -> dict[str, str]:
        """The samu-* marks, from metadata (Nova, Cinder, Swift) or tags (Neutron, Octavia)."""
        out: dict[str, str] = {}
        for tag in self.inputs.get("tags") or []:
            if isinstance(tag, str) and "=" in tag:
                key, value = tag.split("=", 1)
                out[key] = value
        meta = self.inputs.get("metadata")
        if isinstance(meta, Mapping) and self.package == "openstack":
            out.update({k: str(v) for k, v in meta.items() if str(k).startswith("samu-")})
        return out

    @property
    def tier(self) -> str | None:
        return self.marks().get(TIER_KEY)

    @property
    def zone(self) -> str | None:
        return self.inputs.get("availabilityZone") or self.marks().get(ZONE_KEY)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready, with secret inputs masked (a plan file is not a place for secrets)."""
        inputs = {k: "[secret]" if k in self.secret_inputs else v for k, v in self.inputs.items()}
        return {"type": self.type, "name": self.name, "id": self.id, "inputs": inputs}


class Inventory:
    """Lookup helpers over a list of declared resources."""

    def __init__(self, resources: Iterable[Declared]) -> None:
        self.resources = list(resources)
        self.by_id = {r.id: r for r in self.resources if r.id}

    def of_kind(self, *kinds: str) -> list[Declared]:
        return [r for r in self.resources if r.kind in kinds and r.package == "openstack"]

    def of_type(self, type_: str) -> list[Declared]:
        return [r for r in self.resources if r.type == type_]

    def get(self, resource_id: Any) -> Declared | None:
        return self.by_id.get(resource_id) if isinstance(resource_id, str) else None
