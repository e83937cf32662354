"""Fixtures of the SIP edge tests: a lab of real Kamailio + SIPp PBX on 127.0.0.1."""

import contextlib
import copy
import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from samu_operator.core.routing import build_routing
from samu_operator.edge.files import write_atomic
from samu_operator.edge.sync import EdgeSync, SyncResult
from tests.conftest import load_samu30
from tests.edge.harness import Caller, Kamailio, Pbx, Rtpengine, missing_binaries


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


class Lab:
    """PBX stand-ins per tenant and zone, and the edge in front of them."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.pbx: dict[str, Pbx] = {}
        # Two missed probes (not one, the chart's default) before a PBX is marked down: the
        # tests share two cores with other work, and one late OPTIONS answer must not move
        # calls that a test expects on a given PBX. Calls never depend on the probes alone:
        # failure_route and ds_mark_dst react to the first unanswered INVITE.
        self.edge = Kamailio(workdir / "edge", defines={"EDGE_PROBE_THRESHOLD": "2"})
        #: the edge's media anchor and recorder (started with the edge, as in the chart's pod)
        self.rtpengine = Rtpengine(workdir / "rtpengine")
        self.callers: list[Caller] = []
        #: "tenant/zone" -> SIP URI of PBX that are no stand-in of this lab (e.g. a loop)
        self.addresses: dict[str, str] = {}
        self._sync: EdgeSync | None = None

    def add_pbx(
        self, tenant: str, zone: str, *, scenario: str = "pbx.xml", args: list[str] | None = None
    ) -> Pbx:
        pbx = Pbx(f"{tenant}-{zone}", self.workdir, scenario=scenario, args=args or [])
        self.pbx[f"{tenant}/{zone}"] = pbx
        return pbx.start()

    @property
    def sync(self) -> EdgeSync:
        """The operator's side of this edge (one instance: it keeps the PBX suspected down)."""
        if self._sync is None:
            self._sync = EdgeSync(self.edge.files, self.edge.rpc, addresses=self.all_addresses)
        return self._sync

    @property
    def all_addresses(self) -> dict[str, str]:
        return {**self.addresses, **{key: p.uri for key, p in self.pbx.items()}}

    def start(self, tenants: list[dict[str, Any]]) -> None:
        """Write the tables rendered from the tenants, then start the edge on them."""
        self.edge.files.directory.mkdir(parents=True, exist_ok=True)
        self._sync = None  # its addresses are those of the PBX added so far
        table = build_routing(tenants, addresses=self.all_addresses)
        write_atomic(self.edge.files.dispatcher, table.dispatcher_list())
        write_atomic(self.edge.files.routing, table.routing_map(), distinct_mtime=True)
        if self.rtpengine.proc is None:
            self.rtpengine.start()
        self.edge.defines.setdefault("EDGE_RTPENGINE_SOCK", f'"{self.rtpengine.sock}"')
        self.edge.start()

    def apply(self, tenants: list[dict[str, Any]]) -> SyncResult:
        return self.sync.apply(tenants)

    def metrics(self) -> str:
        """The edge's Prometheus page, scraped over HTTP like Prometheus does."""
        with urllib.request.urlopen(self.edge.metrics_url, timeout=5) as response:
            return response.read().decode()

    def caller(self, **kwargs: Any) -> Caller:
        caller = Caller(self.edge, self.workdir, name=f"caller{len(self.callers)}", **kwargs)
        self.callers.append(caller)
        return caller

    def stop(self) -> None:
        for caller in self.callers:
            caller.stop()
        self.edge.stop()
        self.rtpengine.stop()
        for pbx in self.pbx.values():
            pbx.stop()


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
