"""Fixtures of the SIP edge tests: the call lab's edge (samu_lab.edge: real Kamailio + SIPp
PBX on 127.0.0.1)."""

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from samu_lab.edge import EdgeLab
from tests.conftest import load_samu30
from tests.edge.harness import missing_binaries


def tenant_doc(
    department: str,
    *,
    numbers: list[str] | None = None,
    zones: tuple[str, ...] = ("a", "b"),
    active: str | None = "a",
    epoch: int = 1,
    partner: str | None = None,
    roles: dict[str, str] | None = None,
    ready: dict[str, bool] | None = None,
) -> dict[str, Any]:
    """A valid SamuTenant document with a status: `active` zone active, the others standby
    (override with roles/ready per zone)."""
    doc = copy.deepcopy(load_samu30())
    doc["metadata"]["name"] = f"samu-{department.lower()}"
    spec = doc["spec"]
    spec["department"] = department
    spec["displayName"] = f"SAMU {department}"
    spec["numbers"] = numbers if numbers is not None else []
    spec["pbx"]["zones"] = list(zones)
    spec["failover"]["preferredZones"] = list(zones)
    if partner:
        spec["overflow"] = {"partner": partner, "afterSeconds": 30}
    else:
        spec.pop("overflow", None)
    roles = roles or {}
    ready = ready or {}
    doc["status"] = {
        "phase": "Ready",
        "activeZone": active,
        "epoch": epoch,
        "pbx": [
            {
                "zone": z,
                "role": roles.get(z, "active" if z == active else "standby"),
                "ready": ready.get(z, True),
            }
            for z in zones
        ],
    }
    return doc


#: The edge lab (samu_lab.edge), under the name the edge tests use.
Lab = EdgeLab


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[Lab]:
    missing = missing_binaries()
    if missing:
        pytest.skip(
            f"{', '.join(missing)} not installed: `make debs` installs kamailio, sip-tester"
            " and rtpengine-daemon"
        )
    lab = Lab(tmp_path)
    try:
        yield lab
    finally:
        lab.stop()
