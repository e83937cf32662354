"""Label selectors as the API server reads them (``a=b,c!=d,e,!f,g in (x,y),h notin (z)``),
for the emulator's list and watch filters."""

from collections.abc import Iterable, Mapping
from typing import Any


def parse_selector(text: str) -> list[tuple[str, str, frozenset[str]]]:
    """``a=b,c!=d,e,!f,g in (x,y),h notin (z)`` -> (key, operator, values) terms."""
    terms, depth, start = [], 0, 0
    parts: list[str] = []
    for i, ch in enumerate(text):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    for part in (p.strip() for p in parts):
        if not part:
            continue
        if " notin " in part or " in " in part:
            op = "notin" if " notin " in part else "in"
            key, values = part.split(f" {op} ", 1)
            items = frozenset(v.strip() for v in values.strip().strip("()").split(","))
            terms.append((key.strip(), op, items))
        elif "!=" in part:
            key, value = part.split("!=", 1)
            terms.append((key.strip(), "notin", frozenset([value.strip()])))
        elif "=" in part:
            key, value = part.replace("==", "=").split("=", 1)
            terms.append((key.strip(), "in", frozenset([value.strip()])))
        elif part.startswith("!"):
            terms.append((part[1:].strip(), "!exists", frozenset()))
        else:
            terms.append((part, "exists", frozenset()))
    return terms


def selector_matches(
    obj: Mapping[str, Any], terms: Iterable[tuple[str, str, frozenset[str]]]
) -> bool:
    found = (obj.get("metadata") or {}).get("labels") or {}
    for key, op, values in terms:
        if op == "in":
            ok = found.get(key) in values
        elif op == "notin":
            ok = found.get(key) not in values
        else:
            ok = (key in found) == (op == "exists")
        if not ok:
            return False
    return True
