"""Render the routing table from the tenants, write it, reload Kamailio: one step.

Order matters: the dispatcher sets are reloaded before the routing map, so a new tenant's
numbers never point at a set Kamailio does not know yet; set ids are stable per
département, so the short window between the two reloads never misroutes a call.
"""

import contextlib
import json
import logging
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from samu_operator.core import edge_positions
from samu_operator.core.calls import (
    AnsweredCall,
    CallRecordError,
    bye_to_caller,
    dropped_record,
    parse_call,
)
from samu_operator.core.routing import DEFAULT_ADDRESS_TEMPLATE, RoutingTable, build_routing
from samu_operator.edge.files import EdgeFiles, write_atomic
from samu_operator.edge.rpc import KamailioRpc, RpcError

ROUTING_HTABLE = "routing"
DROPPED_QUEUE = "dropped"
PBX_DOWN_QUEUE = "pbxdown"
CALLS_HTABLE = "calls"
#: permissions' RPC re-reading the address table (the centres' site ranges)
ADDRESS_RELOAD = "permissions.addressReload"
#: How long a PBX must stay down in Kamailio's view before its calls are ended.
CONFIRM_SECONDS = 3.0
RELOAD_RETRY_SECONDS = 3.0
log = logging.getLogger(__name__)


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
    confirm_seconds: float = CONFIRM_SECONDS
    #: the address table changed (or this sidecar just started) and Kamailio has not reloaded it
    _ranges_due: bool = field(default=True, repr=False)
    #: PBX URI -> wall-clock time Kamailio first saw it silent
    _suspects: dict[str, float] = field(default_factory=dict, repr=False)
    _recorded: set[str] = field(default_factory=set, repr=False)
    #: drained from Kamailio but not yet in the journal (its write failed): written next time
    _unwritten: list[dict[str, Any]] = field(default_factory=list, repr=False)
    #: the old platforms' trunks of the last table: never judged dead by the edge (below)
    _legacy: frozenset[str] = field(default=frozenset(), repr=False)

    def apply(self, tenants: Iterable[Mapping[str, Any]], *, force: bool = False) -> SyncResult:
        """Render, write atomically and reload when anything changed (or ``force``)."""
        table = build_routing(
            tenants, address_template=self.address_template, addresses=self.addresses
        )
        self._legacy = frozenset(d.uri for r in table.routes for d in r.legacy_trunks)
        dispatcher = write_atomic(self.files.dispatcher, table.dispatcher_list()) or force
        routing = (
            write_atomic(self.files.routing, table.routing_map(), distinct_mtime=True) or force
        )
        seconds = self.reload(dispatcher=dispatcher, routing=routing)
        return SyncResult(table, dispatcher or routing, seconds)

    def apply_positions(self, tenants: Iterable[edge_positions.TenantPositions]) -> bool:
        """Write the positions' tables (atomically); True when either changed. The edge's
        registrar reads them: auth_db through db_text, which re-reads a table whose file
        changed; permissions keeps the site ranges in memory, reloaded here."""
        tenants = list(tenants)
        write_atomic(self.files.version, edge_positions.version_table())
        subscriber = write_atomic(
            self.files.subscriber, edge_positions.subscriber_table(tenants), distinct_mtime=True
        )
        address = write_atomic(
            self.files.address, edge_positions.address_table(tenants), distinct_mtime=True
        )
        self._ranges_due = self._ranges_due or address
        self.reload_site_ranges()
        return subscriber or address

    def reload_site_ranges(self) -> bool:
        """``permissions.addressReload`` once the address table changed (and once per sidecar
        start: a reload that failed before a restart is not lost); a Kamailio that does not
        answer gets it again on the next pass. True when reloaded now."""
        if not self._ranges_due:
            return False
        try:
            self.rpc.call(ADDRESS_RELOAD)
        except RpcError as exc:
            log.warning(f"edge: site ranges not reloaded yet, retrying: {exc}")
            return False
        self._ranges_due = False
        return True

    def reload(self, *, dispatcher: bool = True, routing: bool = True) -> float:
        """Reload the changed tables at run time; the seconds it took, measured here.

        Only what changed is reloaded: a dispatcher reload resets the probe state and is
        refused within a second of the previous one (reload_delta), so it is retried.
        """
        start = time.perf_counter()
        deadline = start + RELOAD_RETRY_SECONDS
        while dispatcher:
            try:
                self.rpc.call("dispatcher.reload")
                break
            except RpcError as exc:
                if "Ongoing reload" not in str(exc) or time.perf_counter() > deadline:
                    raise
                time.sleep(0.05)
        if routing:
            self.rpc.call("htable.reload", ROUTING_HTABLE)
        return time.perf_counter() - start

    def collect_dropped(self) -> list[dict[str, Any]]:
        """Record every answered call lost with its PBX, once, in the durable file (one JSON
        line each: caller, tenant, at, callId...) so that an ARM can call back; returns the
        new records.

        Two ways a call is seen lost: the caller's BYE went unanswered (Kamailio queued it in
        ``dropped``), or a PBX went silent (queued in ``pbxdown``) and stays down for
        ``confirm_seconds``: its calls still up are recorded and ended, which sends the caller
        a BYE so that the caller may redial at once (and reach the standby). A single lost
        probe never ends calls: the PBX must still be down in Kamailio's view after the delay.
        A trunk of a centre's old platform is never judged so: it is reached over a WAN where
        probes may be lost while its calls go on, and the old platform ends its own calls.
        """
        now = time.time()
        for item in self._drain(PBX_DOWN_QUEUE):
            self._suspects.setdefault(item["key"], _seconds(item.get("val"), now))
        records: list[dict[str, Any]] = []
        if self._suspects:
            flags = self._dispatcher_flags()
            for uri, since in list(self._suspects.items()):
                if uri in self._legacy or flags.get(uri, "").startswith("A"):
                    del self._suspects[uri]  # answered its probes again
                elif now - since >= self.confirm_seconds:
                    del self._suspects[uri]
                    records += self._end_calls_on(uri)
        for item in self._drain(DROPPED_QUEUE):
            records.append(json.loads(item["val"]))
        for record in records:  # drained from Kamailio: only this process holds them now
            call = str(record.get("callId"))
            if call not in self._recorded and call not in {
                str(r.get("callId")) for r in self._unwritten
            }:
                self._unwritten.append(record)
        fresh = self._unwritten
        if fresh:  # a failed write (directory not there yet, disk full) is retried next time
            self.files.dropped.parent.mkdir(parents=True, exist_ok=True)
            with self.files.dropped.open("a+", encoding="utf-8") as out:
                if out.tell() and _last_byte(self.files.dropped) != b"\n":
                    out.write("\n")  # end a line torn by an earlier failed write
                for record in fresh:
                    out.write(json.dumps(record, sort_keys=True) + "\n")
                out.flush()
                os.fsync(out.fileno())
            self._recorded.update(str(r.get("callId")) for r in fresh)
            self._unwritten = []
        return fresh

    def _drain(self, queue: str, limit: int = 100000) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for _ in range(limit):
            try:
                item = self.rpc.call("mqueue.fetch", queue)
            except RpcError as exc:
                if "No messages" in str(exc) or "empty" in str(exc).lower():
                    break
                raise
            if not item:
                break
            items.append(item)
        return items

    def _dispatcher_flags(self) -> dict[str, str]:
        try:
            result = self.rpc.call("dispatcher.list")
        except RpcError as exc:
            if "No Destination Sets" in str(exc):
                return {}
            raise
        return {
            target["DEST"]["URI"]: target["DEST"]["FLAGS"]
            for record in result.get("RECORDS", [])
            for target in record["SET"]["TARGETS"]
        }

    def _end_calls_on(self, uri: str) -> list[dict[str, Any]]:
        """Record and end the answered calls Kamailio still holds on a dead PBX."""
        now = time.time()
        records = []
        for call in self.answered_calls():
            if call.pbx != uri:
                continue
            records.append(dropped_record(call, now))
            # the BYE first: its local-request route reads the call's item (the tenant)
            with contextlib.suppress(RpcError, CallRecordError):
                self.rpc.call("tm.t_uac_start", *bye_to_caller(call).rpc_params())
            with contextlib.suppress(RpcError):
                self.rpc.call("htable.delete", CALLS_HTABLE, call.call_id)
        return records

    def answered_calls(self) -> list[AnsweredCall]:
        """The calls Kamailio holds as answered (htable ``calls``); unreadable items skipped."""
        calls = []
        for name, value in _htable_items(self.rpc.call("htable.dump", CALLS_HTABLE)):
            try:
                calls.append(parse_call(name, value))
            except CallRecordError as exc:  # one bad item never hides the others
                log.warning(f"answered call not readable, left to its caller's BYE: {exc}")
        return calls


def _htable_items(dump: Any) -> list[tuple[str, str]]:
    """(name, value) of each string item in an ``htable.dump`` answer (a list of slots)."""
    slots = dump if isinstance(dump, list) else [dump] if dump else []
    items = []
    for slot in slots:
        cells = slot.get("slot", []) if isinstance(slot, dict) else []
        for cell in cells if isinstance(cells, list) else [cells]:
            if isinstance(cell, dict) and cell.get("type") == "str":
                items.append((str(cell.get("name")), str(cell.get("value"))))
    return items


def _seconds(value: Any, default: float) -> float:
    """Kamailio's $TV(Sn) ("seconds.micro") as a float; ``default`` when unreadable."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def _last_byte(path: "os.PathLike[str]") -> bytes:
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        return f.read(1)
