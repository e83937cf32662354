"""The offline plan end to end: config -> mock run -> guardrails -> JSON plan + SVG picture."""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from samu_infra import guardrails
from samu_infra.config import StackConfig
from samu_infra.inventory import Declared
from samu_infra.offline import OfflineRun, run_offline
from samu_infra.plan import plan_document, render_text
from samu_infra.program import PROJECT_ROOT
from samu_infra.topology import render_svg


@dataclass
class PlanResult:
    doc: dict[str, Any]
    text: str
    run: OfflineRun
    json_path: Path | None = None
    svg_path: Path | None = None

    @property
    def passed(self) -> bool:
        return bool(self.doc["passed"])


def vip_ports(run: OfflineRun) -> dict[str, Declared]:
    """Load balancers by the id of their VIP port (an output, so it comes from the mock run)."""
    by_id = {r.id: r for r in run.resources}
    return {
        out["vipPortId"]: by_id[rid]
        for rid, out in run.resource_outputs.items()
        if "vipPortId" in out and rid in by_id
    }


def plan(
    cfg: StackConfig,
    stack: str,
    out_dir: Path | None = None,
    project_root: Path = PROJECT_ROOT,
) -> PlanResult:
    """Evaluate the stack offline, judge it, and (with ``out_dir``) write plan.json and SVG."""
    run = run_offline(cfg, stack, project_root)
    results = guardrails.check(run.resources, vip_ports(run))
    doc = plan_document(
        stack=stack,
        zones=cfg.zones,
        resources=run.resources,
        guardrails=results,
        outputs=run.outputs,
        secret_outputs=run.secret_outputs,
        seconds=run.seconds,
    )
    result = PlanResult(doc, render_text(doc), run)
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        result.json_path = out_dir / f"plan-{stack}.json"
        result.json_path.write_text(json.dumps(doc, indent=1, default=str), encoding="utf-8")
        result.svg_path = out_dir / f"topology-{stack}.svg"
        result.svg_path.write_text(
            render_svg(
                doc["summary"],
                title=f"samu-platform · stack {stack} · {doc['resourceCount']} resources",
                passed=result.passed,
            ),
            encoding="utf-8",
        )
    return result
