"""The edge tests' lab parts, now in the call lab package ``samu_lab`` (kept under this name:
other tests and benchmarks import them from here). Scenario files under tests/edge/scenarios
are found by name too."""

from pathlib import Path

from samu_lab.kamailio import (  # noqa: F401
    Kamailio,
)
from samu_lab.paths import (  # noqa: F401
    SCENARIO_DIRS,
    SCENARIOS,
    edge_config,
)
from samu_lab.procs import (  # noqa: F401
    HOST,
    free_port,
    free_port_range,
    missing_binaries,
    stop_process,
    wait_for,
)
from samu_lab.rtpengine import (  # noqa: F401
    Rtpengine,
)
from samu_lab.sipp import (  # noqa: F401
    Call,
    Caller,
    CallerRun,
    Pbx,
    parse_calls,
    started,
)

# the private names other tests used
_stop = stop_process
_parse_calls = parse_calls
REPO = Path(__file__).resolve().parents[2]
EDGE_CFG = REPO / "helm" / "samu-edge" / "files" / "kamailio.cfg"

for _extra in (Path(__file__).resolve().parent / "scenarios",):
    if _extra not in SCENARIO_DIRS:
        SCENARIO_DIRS.append(_extra)
