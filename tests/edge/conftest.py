"""Fixtures of the SIP edge tests: the call lab's edge (samu_lab.edge: real Kamailio + SIPp
PBX on 127.0.0.1)."""

import contextlib
import copy
import json
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


@contextlib.contextmanager
def sidecar_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, pbx: list[str]) -> Iterator[Lab]:
    """PBX stand-ins ("tenant/zone" each), an edge that knows no SAMU yet, and the environment
    that points the operator's edge handler (samu_operator.edge.sidecar) at it; all stopped
    afterwards. For the tests of the chain operator -> sidecar -> Kamailio."""
    from samu_operator.edge import sidecar as edge_handler

    missing = missing_binaries()
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed: `make debs`")
    lab = Lab(tmp_path)
    try:
        for key in pbx:
            tenant, zone = key.split("/")
            lab.add_pbx(tenant, zone)
        lab.start([])
        monkeypatch.setenv(edge_handler.DIR_ENV, str(lab.edge.files.directory))
        monkeypatch.setenv(edge_handler.RPC_ENV, lab.edge.rpc.url)
        monkeypatch.setenv(edge_handler.ADDRESSES_ENV, json.dumps(lab.all_addresses))
        edge_handler._tenants.clear()
        yield lab
    finally:
        edge_handler._tenants.clear()
        lab.stop()
