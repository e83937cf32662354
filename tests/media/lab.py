"""The media lab, now in the call lab package (``samu_lab.media``); scenario files under
tests/media/scenarios are found by name too."""

from pathlib import Path

from samu_lab.media import (  # noqa: F401
    HOST,
    Lab,
    MediaCall,
    MediaCaller,
    Pbx,
    add_audio_pbx,
    free_port,
    free_port_range,
)
from samu_lab.paths import (  # noqa: F401
    SCENARIO_DIRS,
    SCENARIOS,
)
from samu_lab.procs import stop_process

_stop = stop_process  # the private name other tests used
_OWN = Path(__file__).resolve().parent / "scenarios"
if _OWN not in SCENARIO_DIRS:
    SCENARIO_DIRS.append(_OWN)
