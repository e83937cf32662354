"""The edge lab: PBX stand-ins per tenant and zone, and the edge (Kamailio with the chart's
configuration + rtpengine) in front of them, routing the tenants given."""

from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any

from samu_lab.kamailio import Kamailio
from samu_lab.rtpengine import Rtpengine
from samu_lab.sipp import Caller, Pbx
from samu_operator.core.routing import build_routing
from samu_operator.edge.files import write_atomic
from samu_operator.edge.sync import EdgeSync, SyncResult


class EdgeLab:
    """PBX stand-ins per tenant and zone, and the edge in front of them."""

    def __init__(self, workdir: Path, probe_threshold: int = 2) -> None:
        self.workdir = workdir
        self.pbx: dict[str, Pbx] = {}
        # Two missed probes (not one, the chart's default) before a PBX is marked down: the
        # lab shares two cores with other work, and one late OPTIONS answer must not move
        # calls expected on a given PBX. Calls never depend on the probes alone: the
        # failure_route moves a call on at its first unanswered INVITE.
        self.edge = Kamailio(
            workdir / "edge", defines={"EDGE_PROBE_THRESHOLD": str(probe_threshold)}
        )
        #: the edge's media anchor and recorder (started with the edge, as in the chart's pod)
        self.rtpengine = Rtpengine(workdir / "rtpengine")
        #: callers of this lab, stopped with it (anything with a stop())
        self.callers: list[Any] = []
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

    def write_tables(self, tenants: list[dict[str, Any]]) -> None:
        """The routing tables rendered from the tenants, as the operator writes them."""
        self.edge.files.directory.mkdir(parents=True, exist_ok=True)
        self._sync = None  # its addresses are those of the PBX added so far
        table = build_routing(tenants, addresses=self.all_addresses)
        write_atomic(self.edge.files.dispatcher, table.dispatcher_list())
        write_atomic(self.edge.files.routing, table.routing_map(), distinct_mtime=True)

    def start(self, tenants: list[dict[str, Any]]) -> None:
        """Write the tables rendered from the tenants, then start the edge on them."""
        self.write_tables(tenants)
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
