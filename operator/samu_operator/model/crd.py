"""Generate the SamuTenant CustomResourceDefinition from the pydantic models.

Pydantic emits JSON Schema (draft 2020-12); Kubernetes wants a *structural* OpenAPI v3 schema:
no $ref, no anyOf-with-null, no additionalProperties beside properties, no uniqueItems,
a type on every node. The conversion is hand-written because no maintained library does it
for pydantic v2 output; it is small and tested against the API's own CRD schema.
"""

from typing import Any

from samu_operator.model.tenant import (
    API_GROUP,
    API_VERSION,
    KIND,
    PLURAL,
    SamuTenantSpec,
    SamuTenantStatus,
)

#: Rules the API server evaluates (CEL) for what a structural schema cannot say.
SPEC_RULES: list[dict[str, str]] = [
    {
        "rule": "!has(self.overflow) || self.overflow.partner != 'samu-' + self.department.lowerAscii()",
        "message": "spec.overflow.partner is this tenant itself: name another SAMU",
        "fieldPath": ".overflow.partner",
    },
    {
        "rule": "!has(self.failover) || !has(self.failover.preferredZones) || "
        "self.failover.preferredZones.all(z, z in self.pbx.zones)",
        "message": "spec.failover.preferredZones must list zones of spec.pbx.zones",
        "fieldPath": ".failover.preferredZones",
    },
    {
        "rule": "self.queues.all(q, self.queues.exists_one(r, r.priority == q.priority))",
        "message": "spec.queues: give each queue its own priority",
        "fieldPath": ".queues",
    },
    {
        "rule": "self.capacity.maxConcurrentCalls >= self.capacity.agents",
        "message": "spec.capacity.maxConcurrentCalls must be at least capacity.agents",
        "fieldPath": ".capacity.maxConcurrentCalls",
    },
    {
        "rule": "!has(self.routing) || !has(self.routing.mode) || "
        "self.routing.mode != 'legacy' || has(self.routing.legacy)",
        "message": "spec.routing.mode 'legacy' needs spec.routing.legacy.trunks",
        "fieldPath": ".routing.mode",
    },
    {
        "rule": "!has(self.routing) || !has(self.routing.fallbacks) || "
        "(('partner' in self.routing.fallbacks) == has(self.overflow))",
        "message": "spec.routing.fallbacks lists 'partner' exactly when spec.overflow is set",
        "fieldPath": ".routing.fallbacks",
    },
]
ROOT_RULES: list[dict[str, str]] = [
    {
        "rule": "self.metadata.name == 'samu-' + self.spec.department.lowerAscii()",
        "message": "metadata.name must be 'samu-' + lower-case spec.department (e.g. samu-2a)",
    },
]
# Lists of objects keyed by a field: the API server then refuses duplicate keys.
LIST_MAP_KEYS: dict[str, str] = {"queues": "name"}

_DROP = {"title", "additionalProperties", "$defs", "uniqueItems"}


def _structural(
    node: dict[str, Any], defs: dict[str, Any], *, keep_defaults: bool
) -> dict[str, Any]:
    if "$ref" in node:
        target = defs[node["$ref"].rsplit("/", 1)[-1]]
        merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        return _structural(merged, defs, keep_defaults=keep_defaults)
    if "anyOf" in node:
        options = [o for o in node["anyOf"] if o.get("type") != "null"]
        if len(options) != 1:
            raise ValueError(f"cannot express anyOf {node['anyOf']} in a structural schema")
        rest = {k: v for k, v in node.items() if k != "anyOf"}
        rest.pop("default", None)  # a null default means "absent"
        return _structural({**options[0], **rest}, defs, keep_defaults=keep_defaults)
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROP or (key == "default" and not keep_defaults):
            continue
        if key == "const":
            out["enum"] = [value]
        elif key == "properties":
            out["properties"] = {
                name: _field(name, sub, defs, keep_defaults=keep_defaults)
                for name, sub in value.items()
            }
        elif key == "items":
            out["items"] = _structural(value, defs, keep_defaults=keep_defaults)
        else:
            out[key] = value
    if out.get("type") == "object" and isinstance(out.get("default"), dict):
        out["default"] = {}  # let the API server apply the nested defaults itself
    if out.get("type") == "array" and out.get("items", {}).get("type") != "object":
        # Every scalar list of the spec (zones, numbers) must hold distinct values.
        out["x-kubernetes-list-type"] = "set"
    if "type" not in out:
        raise ValueError(f"schema node without a type: {node}")
    return out


def _field(
    name: str, node: dict[str, Any], defs: dict[str, Any], *, keep_defaults: bool
) -> dict[str, Any]:
    out = _structural(node, defs, keep_defaults=keep_defaults)
    if name in LIST_MAP_KEYS:
        out["x-kubernetes-list-type"] = "map"
        out["x-kubernetes-list-map-keys"] = [LIST_MAP_KEYS[name]]
    return out


def openapi_schema() -> dict[str, Any]:
    """The structural schema of the whole resource (spec and status)."""
    spec_json = SamuTenantSpec.model_json_schema(by_alias=True)
    status_json = SamuTenantStatus.model_json_schema(by_alias=True)
    spec = _structural(spec_json, spec_json.get("$defs", {}), keep_defaults=True)
    spec["x-kubernetes-validations"] = SPEC_RULES
    status = _structural(status_json, status_json.get("$defs", {}), keep_defaults=False)
    # Kopf keeps its own bookkeeping in status; let it through pruning.
    status["x-kubernetes-preserve-unknown-fields"] = True
    return {
        "type": "object",
        "description": "The telephony tenant of one SAMU-Centre 15 (one per département)",
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string", "description": f"always {API_GROUP}/{API_VERSION}"},
            "kind": {"type": "string", "description": "always SamuTenant"},
            "metadata": {
                "type": "object",
                "description": "name: 'samu-' + the lower-case département code, e.g. samu-2a",
            },
            "spec": {**spec, "description": spec.get("description") or "the tenant as declared"},
            "status": {
                **status,
                "description": "written by the operator only: what it made of the spec",
            },
        },
        "x-kubernetes-validations": ROOT_RULES,
    }


def crd_manifest() -> dict[str, Any]:
    """The SamuTenant CRD.

    Cluster-scoped: a tenant owns a whole Namespace (its own), and its name is derived from
    the département, so the API server itself refuses two tenants for one département.
    """
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{PLURAL}.{API_GROUP}",
            "labels": {"app.kubernetes.io/part-of": "samu-platform"},
        },
        "spec": {
            "group": API_GROUP,
            "scope": "Cluster",
            "names": {
                "kind": KIND,
                "listKind": f"{KIND}List",
                "plural": PLURAL,
                "singular": KIND.lower(),
                "shortNames": ["samu"],
                "categories": ["samu-platform"],
            },
            "versions": [
                {
                    "name": API_VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        {"name": "Département", "type": "string", "jsonPath": ".spec.department"},
                        {"name": "Phase", "type": "string", "jsonPath": ".status.phase"},
                        {"name": "Active zone", "type": "string", "jsonPath": ".status.activeZone"},
                        {"name": "Epoch", "type": "integer", "jsonPath": ".status.epoch"},
                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                    ],
                    "schema": {"openAPIV3Schema": openapi_schema()},
                }
            ],
        },
    }


def render_crd_yaml() -> str:
    """The CRD as the YAML file committed in the chart (stable key order, with a header)."""
    import yaml

    problems = structural_problems(openapi_schema())
    if problems:
        raise ValueError("the generated CRD schema is not structural:\n" + "\n".join(problems))
    header = (
        "# Generated from samu_operator.model by `samuctl crd generate`: do not edit by hand.\n"
    )
    return header + yaml.safe_dump(crd_manifest(), sort_keys=False, allow_unicode=True, width=100)


# Keywords the API server refuses in a CRD schema (or that make it non-structural).
_FORBIDDEN_KEYWORDS = {"$ref", "$defs", "anyOf", "oneOf", "allOf", "uniqueItems", "const", "not"}


def structural_problems(node: dict[str, Any], path: str = "") -> list[str]:
    """Why a schema would not be structural (empty when it is).

    kubernetes-validate checks the CRD's shape only; the API server also demands a type on
    every node and refuses some JSON-Schema keywords, so ``generate`` checks these itself.
    """
    problems = [
        f"{path or '/'}: keyword {k!r} not allowed" for k in node if k in _FORBIDDEN_KEYWORDS
    ]
    open_node = node.get("x-kubernetes-preserve-unknown-fields") or node.get(
        "x-kubernetes-int-or-string"
    )
    if "type" not in node and not open_node:
        problems.append(f"{path or '/'}: no type")
    if "properties" in node and "additionalProperties" in node:
        problems.append(f"{path or '/'}: properties and additionalProperties together")
    for name, sub in node.get("properties", {}).items():
        problems += structural_problems(sub, f"{path}/{name}")
    if "items" in node:
        problems += structural_problems(node["items"], f"{path}/items")
    return problems
