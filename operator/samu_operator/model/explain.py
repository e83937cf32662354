"""The SamuTenant schema for people: `tenant explain`, the field reference, the `init` scaffold.

All three are generated from the CRD's OpenAPI schema, itself generated from the pydantic
model, so a field added to the model shows in every one of them (a test checks the
committed reference is current).
"""

import json
from collections.abc import Iterator
from typing import Any

from samu_operator.model.crd import openapi_schema
from samu_operator.model.departments import department_error, normalise_department
from samu_operator.model.tenant import API_GROUP, API_VERSION, KIND, tenant_name_for

Schema = dict[str, Any]


class UnknownField(LookupError):
    """A FIELD path that is not in the schema: the message lists what exists there."""


def _children(node: Schema) -> dict[str, Schema]:
    if node.get("type") == "array":
        node = node.get("items") or {}
    return dict(node.get("properties") or {})


def _required(node: Schema) -> set[str]:
    if node.get("type") == "array":
        node = node.get("items") or {}
    return set(node.get("required") or [])


def type_name(node: Schema) -> str:
    """kubectl's notation: ``string``, ``[]string``, ``[]Object``, ``Object``."""
    kind = node.get("type", "Object")
    if kind == "array":
        return "[]" + type_name(node.get("items") or {})
    return "Object" if kind == "object" else kind


def constraints(node: Schema, *, patterns: bool = True) -> str:
    """Bounds, choices and (with ``patterns``) pattern of a field, in words."""
    parts: list[str] = []
    if "enum" in node:
        parts.append("one of " + ", ".join(str(v) for v in node["enum"]))
    low, high = node.get("minimum"), node.get("maximum")
    if low is not None or high is not None:
        parts.append(f"{low if low is not None else '…'} to {high if high is not None else '…'}")
    for key, what in (("minItems", "at least {} item(s)"), ("maxItems", "at most {} item(s)")):
        if key in node:
            parts.append(what.format(node[key]))
    for key, what in (("minLength", "at least {} character(s)"), ("maxLength", "at most {}")):
        if key in node:
            parts.append(what.format(node[key]) + (" characters" if key == "maxLength" else ""))
    if node.get("x-kubernetes-list-type") in ("set", "map"):
        parts.append("no repeated value" if node["x-kubernetes-list-type"] == "set" else "")
    if "pattern" in node and patterns:
        parts.append(f"pattern `{node['pattern']}`")
    items = node.get("items") or {}
    if node.get("type") == "array" and items.get("type") != "object":
        inner = constraints(items, patterns=patterns)
        if inner:
            parts.append(f"each: {inner}")
    return "; ".join(p for p in parts if p)


def walk(node: Schema | None = None, path: str = "") -> Iterator[tuple[str, Schema, bool]]:
    """(path, schema, required) of every field under ``node`` (the whole resource by default),
    depth first in declaration order; list items are entered with ``[]``."""
    node = node if node is not None else openapi_schema()
    required = _required(node)
    for name, child in _children(node).items():
        child_path = f"{path}.{name}" if path else name
        yield child_path, child, name in required
        inner = child_path + ("[]" if child.get("type") == "array" else "")
        yield from walk(child, inner)


def resolve(field: str) -> tuple[str, Schema, bool]:
    """The schema at ``spec.pbx.zones`` (``[]`` and ``[0]`` after a list are optional)."""
    node: Schema = openapi_schema()
    required = True
    path = ""
    for part in [p for p in field.replace("[]", "").split(".") if p]:
        part = part.split("[", 1)[0]
        children = _children(node)
        if part not in children:
            where = path or KIND
            raise UnknownField(
                f"{field}: no field {part!r} in {where}; its fields are "
                + (", ".join(children) or "none (it is a value)")
            )
        required = part in _required(node)
        node = children[part]
        path = f"{path}.{part}" if path else part
    return path or KIND, node, required


def explain(field: str = "") -> str:
    """Text like `kubectl explain`: the field, its type, description, constraints, fields."""
    path, node, required = resolve(field)
    lines = [f"KIND:     {KIND}", f"VERSION:  {API_GROUP}/{API_VERSION}", ""]
    flag = "  -required-" if required and field else ""
    lines += [f"FIELD:    {path} <{type_name(node)}>{flag}", "", "DESCRIPTION:"]
    lines.append(f"    {node.get('description', '')}")
    details = constraints(node)
    if "default" in node and node["default"] not in ({}, None):
        details = f"default {json.dumps(node['default'], ensure_ascii=False)}" + (
            f"; {details}" if details else ""
        )
    if details:
        lines += ["", "CONSTRAINTS:", f"    {details}"]
    children = _children(node)
    if children:
        lines += ["", "FIELDS:"]
        required_here = _required(node)
        for name, child in children.items():
            flag = "  -required-" if name in required_here else ""
            lines.append(f"  {name}\t<{type_name(child)}>{flag}")
            lines.append(f"    {child.get('description', '')}")
            lines.append("")
        lines.pop()
    return "\n".join(lines) + "\n"


def reference_markdown() -> str:
    """docs/reference/samutenant.md: every field, one table per object."""
    out = [
        "# SamuTenant field reference",
        "",
        f"`apiVersion: {API_GROUP}/{API_VERSION}`, `kind: {KIND}`, cluster-scoped, one per "
        "département. Generated from the model by `samuctl crd docs`: do not edit by hand. "
        "The same text is at hand with `samuctl tenant explain FIELD`; "
        "`samuctl tenant init DEPT` writes a commented starting point.",
        "",
    ]
    objects = [("", openapi_schema())] + [
        (path, node)
        for path, node, _ in walk()
        if _children(node) and not path.startswith("metadata")
    ]
    for path, node in objects:
        title = path or KIND
        out += [f"## `{title}`", "", node.get("description", ""), ""]
        out += [
            "| field | type | required | default | description |",
            "| --- | --- | --- | --- | --- |",
        ]
        required = _required(node)
        for name, child in _children(node).items():
            default = child.get("default")
            shown = "" if default in (None, {}) else f"`{json.dumps(default, ensure_ascii=False)}`"
            text = child.get("description", "")
            extra = constraints(child)
            if extra:
                text += f" ({extra})"
            text = text.replace("|", "\\|")
            mark = "yes" if name in required else ""
            out.append(f"| `{name}` | {type_name(child)} | {mark} | {shown} | {text} |")
        out.append("")
    return "\n".join(out)


#: Values for the required fields that have no default (the rest comes from the model).
def _examples(department: str) -> dict[str, Any]:
    return {
        "spec.department": department,
        "spec.displayName": f"SAMU {department}",
        "spec.numbers": [],
        "spec.pbx.image": "registry.samu-platform.io/pbx/asterisk:20.10.0",
        "spec.pbx.zones": ["a", "b", "c"],
        "spec.queues": [
            {"name": "vital-distress", "priority": 0, "maxWaitSeconds": 10},
            {"name": "general", "priority": 5, "maxWaitSeconds": 60},
        ],
        "spec.capacity.agents": 10,
        "spec.capacity.maxConcurrentCalls": 30,
        "spec.failover.preferredZones": ["a", "b", "c"],
        # empty: capacity.agents positions answering every queue; no site range, no phone
        # registers until the centre's networks are given
        "spec.positions": [],
        "spec.siteRanges": [],
    }


#: Optional objects left out of the scaffold, shown commented with a sample value.
_COMMENTED = {
    "spec.overflow": "{partner: samu-XX, afterSeconds: 30}",
    "spec.routing.legacy": '{trunks: ["sips:sbc1.old-platform.example:5061"]}',
    "spec.routing.fallbacks": "[platform, legacy, partner, secours]",
    # never a sample number in a file that validates: a real call would go there
    "spec.routing.secours": '[{number: "+33XXXXXXXXX", description: "lignes de secours"}]',
}


def _value(value: Any) -> str:
    # JSON is YAML: strings come out quoted (so "30" stays a string), lists in flow style.
    return json.dumps(value, ensure_ascii=False)


def _is_object_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def scaffold(department: str) -> str:
    """A commented SamuTenant for DEPT that validates as it is (``samuctl tenant init``)."""
    department = normalise_department(department)
    error = department_error(department)
    if error:
        raise ValueError(error)
    examples = _examples(department)
    lines = [
        f"# SamuTenant for SAMU {department}: written by `samuctl tenant init {department}`.",
        "# Every field is explained by `samuctl tenant explain spec.<field>`; check the file with",
        "# `samuctl tenant validate` and onboard with `kubectl apply -f <this file>`.",
        f"apiVersion: {API_GROUP}/{API_VERSION}",
        f"kind: {KIND}",
        "metadata:",
        f"  name: {tenant_name_for(department)}",
        "spec:",
    ]
    spec = openapi_schema()["properties"]["spec"]
    lines += _scaffold_object(spec, "spec", 1, examples)
    return "\n".join(lines) + "\n"


def _scaffold_object(node: Schema, path: str, depth: int, examples: dict[str, Any]) -> list[str]:
    indent = "  " * depth
    lines: list[str] = []
    required = _required(node)
    for name, child in _children(node).items():
        child_path = f"{path}.{name}"
        comment = child.get("description", "")
        extra = constraints(child, patterns=False) if child.get("type") != "object" else ""
        if extra:
            comment += f" ({extra})"
        comment += "" if name in required else " [optional]"
        lines.append(f"{indent}# {comment}")
        if child_path in _COMMENTED:
            lines.append(f"{indent}# {name}: {_COMMENTED[child_path]}")
        elif child_path in examples and _is_object_list(examples[child_path]):
            lines.append(f"{indent}{name}:")
            lines += [f"{indent}  - {_value(item)}" for item in examples[child_path]]
        elif child_path in examples:
            lines.append(f"{indent}{name}: {_value(examples[child_path])}")
        elif _children(child) and child.get("type") == "object":
            lines.append(f"{indent}{name}:")
            lines += _scaffold_object(child, child_path, depth + 1, examples)
        elif "default" in child:
            lines.append(f"{indent}{name}: {_value(child['default'])}")
        else:
            raise ValueError(f"{child_path}: neither a default nor an example (add one)")
    return lines
