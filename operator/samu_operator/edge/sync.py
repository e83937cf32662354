"""Render the routing table from the tenants, write it, reload Kamailio: one step.

Order matters: the dispatcher sets are reloaded before the routing map, so a new tenant's
numbers never point at a set Kamailio does not know yet; set ids are stable per
département, so the short window between the two reloads never misroutes a call.
"""

import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from samu_operator.core.routing import DEFAULT_ADDRESS_TEMPLATE, RoutingTable, build_routing
from samu_operator.edge.files import EdgeFiles, write_atomic
from samu_operator.edge.rpc import KamailioRpc, RpcError

ROUTING_HTABLE = "routing"
DROPPED_QUEUE = "dropped"
RELOAD_RETRY_SECONDS = 3.0


@dataclass(frozen=True)
class SyncResult:
    table: RoutingTable
    changed: bool
    reload_seconds: float


@dataclass
class EdgeSync:
    """One edge (or one Kamailio pod of it): its table directory and its RPC URL."""

    files: EdgeFiles
    rpc: KamailioRpc
    address_template: str = DEFAULT_ADDRESS_TEMPLATE
    addresses: dict[str, str] = field(default_factory=dict)

    def apply(self, tenants: Iterable[Mapping[str, Any]], *, force: bool = False) -> SyncResult:
        """Render, write atomically and reload when anything changed (or ``force``)."""
        table = build_routing(
            tenants, address_template=self.address_template, addresses=self.addresses
        )
        changed = write_atomic(self.files.dispatcher, table.dispatcher_list())
        changed = (
            write_atomic(self.files.routing, table.routing_map(), distinct_mtime=True) or changed
        )
        seconds = 0.0
        if changed or force:
            seconds = self.reload()
        return SyncResult(table, changed, seconds)

    def reload(self) -> float:
        """Reload both tables at run time; the seconds it took, measured here."""
        start = time.perf_counter()
        deadline = start + RELOAD_RETRY_SECONDS
        while True:
            try:
                self.rpc.call("dispatcher.reload")
                break
            except RpcError as exc:
                # dispatcher refuses a second reload within its reload_delta (1 s)
                if "Ongoing reload" not in str(exc) or time.perf_counter() > deadline:
                    raise
                time.sleep(0.05)
        self.rpc.call("htable.reload", ROUTING_HTABLE)
        return time.perf_counter() - start

    def collect_dropped(self, limit: int = 10000) -> list[dict[str, Any]]:
        """Move the records of calls dropped with their PBX from Kamailio's queue to the
        durable file (one JSON line each) and return them, so an ARM can call back."""
        records: list[dict[str, Any]] = []
        with self.files.dropped.open("a", encoding="utf-8") as out:
            for _ in range(limit):
                try:
                    item = self.rpc.call("mqueue.fetch", DROPPED_QUEUE)
                except RpcError as exc:
                    if "No messages" in str(exc) or "empty" in str(exc).lower():
                        break
                    raise
                if not item:
                    break
                record = json.loads(item["val"])
                records.append(record)
                out.write(json.dumps(record, sort_keys=True) + "\n")
                out.flush()
        return records
