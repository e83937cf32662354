"""Where the lab finds its files: the SIPp scenarios (package data) and the edge chart's
Kamailio configuration (the chart's own file, never a copy)."""

from __future__ import annotations

import os
from pathlib import Path

from samu_lab.procs import LabError

#: The SIPp scenarios that ship with the package.
SCENARIOS = Path(__file__).resolve().parent / "scenarios"
#: More directories searched for a scenario given by name, after the package's own (the
#: tests register theirs, so that a scenario file added under tests/ is found by name too).
SCENARIO_DIRS: list[Path] = [SCENARIOS]
#: The edge chart's configuration, relative to a source checkout's root.
CHART_EDGE_CFG = Path("helm") / "samu-edge" / "files" / "kamailio.cfg"
EDGE_CFG_ENV = "SAMU_LAB_EDGE_CFG"


def scenario(name: str | Path) -> Path:
    """A SIPp scenario by file name (looked up in SCENARIO_DIRS) or by path."""
    path = Path(name)
    if path.is_absolute():
        return path
    for directory in SCENARIO_DIRS:
        if (directory / path).exists():
            return directory / path
    raise LabError(
        f"SIPp scenario {name}: not in {', '.join(str(d) for d in SCENARIO_DIRS)}; "
        "give an absolute path or a file of samu_lab/scenarios"
    )


def edge_config() -> Path:
    """The edge chart's kamailio.cfg: ``$SAMU_LAB_EDGE_CFG``, else the source checkout this
    package runs from. It is the chart's file itself (one source, no drifting copy in the
    package), so the lab runs exactly what the chart deploys."""
    given = os.environ.get(EDGE_CFG_ENV)
    if given:
        path = Path(given)
        if not path.is_file():
            raise LabError(
                f"{EDGE_CFG_ENV}={given}: no such file; point it at the edge chart's kamailio.cfg"
            )
        return path
    for parent in Path(__file__).resolve().parents:
        if (parent / CHART_EDGE_CFG).is_file():
            return parent / CHART_EDGE_CFG
    raise LabError(
        f"the edge chart's {CHART_EDGE_CFG} is not found from {Path(__file__).parent}: run from a "
        f"source checkout, or set {EDGE_CFG_ENV} to the chart's kamailio.cfg"
    )
