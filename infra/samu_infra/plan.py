"""The offline plan as data and text: what would be created, per zone and tier.

Pure: takes declared resources and guardrail results, returns a JSON-ready document and
its text rendering. The mock run itself lives in offline.py.
"""

from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

from samu_infra.guardrails import RuleResult
from samu_infra.install_facts import (
    cluster_installs,
    edge_media,
    recording_store,
    render_edge_and_store,
    render_installs,
)
from samu_infra.inventory import Declared, Inventory
from samu_infra.labels import TIERS

REGIONAL = "regional"
NOTICE = (
    "Evaluated offline under Pulumi mocks: provider-side validation (flavors, images, "
    "quotas, volume types and multi-attach support, Octavia, Designate, Barbican, Swift "
    "storage policies, credentials) needs a real `pulumi preview --stack {stack}`."
)
SCOPE = (
    "Oracle RAC: cloud-init prepares the OS only; installing Grid Infrastructure and the "
    "Database, ASM disk groups and the Data Guard broker is out of scope of this program."
)
#: Plan rows of resources that carry no tier mark of their own.
_KIND_TIERS = {
    "VolumeAttach": "database",
    "Zone": "database",
    "RecordSet": "database",
}


def tier_of(r: Declared) -> str:
    """The row a resource is drawn in: its own mark, else where its kind belongs."""
    if r.tier:
        return r.tier
    if r.package == "kubernetes" or r.type == "pulumi:providers:kubernetes":
        return "operator"
    if r.kind in ("Monitor", "ServerGroup"):
        if "sip-edge" in r.name:
            return "sip-edge"
        if "control-plane" in r.name or "-api-" in r.name:
            return "k8s-control"
        return "k8s-worker" if "workers" in r.name else "database"
    return _KIND_TIERS.get(r.kind, "tenancy")


def summarize(resources: Iterable[Declared], zones: list[str]) -> dict[str, Any]:
    """Counts by zone (columns), tier (rows) and kind."""
    cells: dict[str, dict[str, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))
    for r in resources:
        zone = r.zone if r.zone in zones else REGIONAL
        cells[zone][tier_of(r)][r.kind] += 1
    columns = [*zones, REGIONAL]
    used = {t for z in cells.values() for t in z}
    rows = [t for t in TIERS if t in used] + sorted(used - set(TIERS))
    return {
        "columns": columns,
        "rows": rows,
        "cells": {
            z: {t: dict(sorted(cells[z][t].items())) for t in rows if cells[z][t]} for z in columns
        },
        "totals": {z: sum(sum(c.values()) for c in cells[z].values()) for z in columns},
    }


def plan_document(
    *,
    stack: str,
    zones: list[str],
    resources: list[Declared],
    guardrails: list[RuleResult],
    outputs: dict[str, Any],
    secret_outputs: set[str],
    seconds: float,
) -> dict[str, Any]:
    return {
        "stack": stack,
        "mode": "offline (pulumi mocks, preview)",
        "notice": NOTICE.format(stack=stack),
        "scope": SCOPE,
        "seconds": round(seconds, 3),
        "resourceCount": len(resources),
        "byType": dict(sorted(Counter(r.type for r in resources).items())),
        "summary": summarize(resources, zones),
        "clusterInstalls": cluster_installs(Inventory(resources)),
        "edgeMedia": edge_media(Inventory(resources)),
        "recordingStore": recording_store(Inventory(resources)),
        "guardrails": [g.as_dict() for g in guardrails],
        "passed": all(g.passed for g in guardrails),
        "outputs": {
            k: "[secret]" if k in secret_outputs else v for k, v in sorted(outputs.items())
        },
        "secretOutputs": sorted(secret_outputs),
        "resources": [r.as_dict() for r in resources],
    }


def _counts(counter: dict[str, int]) -> str:
    return ", ".join(f"{n} {kind}" for kind, n in counter.items())


def render_text(doc: dict[str, Any]) -> str:
    """Per zone what would be created, then the guardrails, then what only a cloud can tell."""
    s = doc["summary"]
    lines = [
        f"Offline plan of stack {doc['stack']}: {doc['resourceCount']} resources "
        f"({doc['seconds']:.2f} s under mocks)",
        "",
    ]
    for zone in s["columns"]:
        tiers = s["cells"].get(zone, {})
        if not tiers:
            continue
        title = "regional (no zone)" if zone == REGIONAL else f"zone {zone}"
        lines.append(f"{title}: {s['totals'][zone]} resources")
        for tier, counter in tiers.items():
            lines.append(f"  {tier:<17} {_counts(counter)}")
    lines += ["", *render_installs(doc.get("clusterInstalls") or {})]
    if "edgeMedia" in doc:
        lines += render_edge_and_store(doc["edgeMedia"], doc["recordingStore"])
    lines += ["", "Guardrails:"]
    for g in doc["guardrails"]:
        lines.append(f"  [{'pass' if g['passed'] else 'FAIL'}] {g['rule']}: {g['description']}")
        lines += [f"         - {v}" for v in g["violations"]]
    failed = [g["rule"] for g in doc["guardrails"] if not g["passed"]]
    lines.append(
        f"  {len(failed)} guardrail(s) failed: {', '.join(failed)}"
        if failed
        else "  all guardrails pass"
    )
    lines += [
        "",
        f"Outputs: {', '.join(f'{k}={v}' for k, v in doc['outputs'].items())}",
        "",
        doc["scope"],
        doc["notice"],
    ]
    return "\n".join(lines) + "\n"
