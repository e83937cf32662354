"""The MixMonitor stand-in, now in the call lab package (``samu_lab.mixmonitor``)."""

from samu_lab.mixmonitor import (  # noqa: F401
    MixMonitorStandIn,
    header,
)
