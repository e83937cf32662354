"""Kopf handlers of the SIP edge: on every SamuTenant change (spec or status: a promotion, a
fenced PBX, a new tenant), re-render the routing table from all tenants, write it and reload
Kamailio at run time; collect the records of calls dropped with their PBX.

They run where the edge's table directory is writable and its RPC port reachable: set
``SAMU_EDGE_DIR`` (the directory Kamailio reads, an emptyDir shared with it in the edge pod)
and ``SAMU_EDGE_RPC_URL`` (``http://127.0.0.1:8080/RPC``); without them they do nothing.
The edge pod's sidecar runs this module alone::

    kopf run --standalone --all-namespaces -m samu_operator.edge.sidecar

(not ``samu_operator.handlers.edge``: importing anything under ``samu_operator.handlers``
runs the package's ``__init__``, which registers every operator handler, and a sidecar must
never reconcile or fail over tenants). ``on.event`` stores nothing on the tenants, so every
edge replica may run its own sidecar.
"""

import asyncio
import base64
import contextlib
import copy
import json
import logging
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import kopf

from samu_operator import kube
from samu_operator.core import edge_positions
from samu_operator.core.positions import EDGE_SECRET
from samu_operator.core.routing import DEFAULT_ADDRESS_TEMPLATE, RoutingError
from samu_operator.edge.files import EdgeFiles
from samu_operator.edge.publish import DroppedPublisher
from samu_operator.edge.rpc import KamailioRpc, RpcError
from samu_operator.edge.sync import EdgeSync
from samu_operator.model.tenant import API_GROUP, API_VERSION, PLURAL

DIR_ENV = "SAMU_EDGE_DIR"
RPC_ENV = "SAMU_EDGE_RPC_URL"
#: str.format template of a PBX's SIP URI ({tenant}, {zone}: the zone's slug, {department}, {pod}).
ADDRESS_ENV = "SAMU_EDGE_ADDRESS_TEMPLATE"
#: JSON object "tenant/zone" -> SIP URI, winning over the template (labs and tests).
ADDRESSES_ENV = "SAMU_EDGE_ADDRESSES"
#: Seconds between retries of a failed reload and fetches of dropped-call records.
PERIOD_ENV = "SAMU_EDGE_PERIOD_SECONDS"
#: Debounce of tenant events: a burst (a failover patches status several times, the initial
#: listing brings every tenant) becomes one reload.
QUIET_SECONDS = 0.2
MAX_DELAY_SECONDS = 0.5
FIRST_QUIET_SECONDS = 1.0

log = logging.getLogger(__name__)

#: Seconds between re-reads of the positions' Secrets (a tenant event also triggers one).
POSITIONS_ENV = "SAMU_EDGE_POSITIONS_SECONDS"

_tenants: dict[str, dict[str, Any]] = {}
_positions: dict[str, edge_positions.TenantPositions] = {}
_uids: dict[str, str] = {}  # tenant -> uid, for the dropped-call Events' involvedObject
_state: dict[str, Any] = {"dirty": False, "lock": None}


def edge_sync() -> EdgeSync | None:
    """The edge this process keeps in sync, from the environment; None when not configured."""
    directory, url = os.environ.get(DIR_ENV), os.environ.get(RPC_ENV)
    if not directory or not url:
        return None
    template = os.environ.get(ADDRESS_ENV, DEFAULT_ADDRESS_TEMPLATE)
    addresses = os.environ.get(ADDRESSES_ENV) or "{}"
    key = (directory, url, template, addresses)
    if _state.get("key") != key:  # one instance: it remembers the PBX suspected down
        _state["key"] = key
        _state["sync"] = EdgeSync(
            EdgeFiles(Path(directory)),
            KamailioRpc(url),
            address_template=template,
            addresses=json.loads(addresses),
        )
    sync: EdgeSync = _state["sync"]
    return sync


def _lock() -> asyncio.Lock:
    if _state["lock"] is None:
        _state["lock"] = asyncio.Lock()
    lock: asyncio.Lock = _state["lock"]
    return lock


async def sync_now(logger: logging.Logger | kopf.Logger = log) -> bool:
    """Render and reload from the tenants seen so far; False (and retried later) on failure.

    A RoutingError (two tenants claiming one number...) keeps the previous table in place:
    nothing is half-applied, the error names the tenant and the field.
    """
    sync = edge_sync()
    if sync is None:
        return True
    async with _lock():
        tenants = list(_tenants.values())
        try:
            result = await asyncio.to_thread(sync.apply, tenants, force=bool(_state["dirty"]))
        except RoutingError as exc:
            logger.error(f"edge routing not updated, previous table kept: {exc}")
            _state["dirty"] = True
            return False
        except (RpcError, OSError) as exc:
            logger.warning(f"edge reload failed, retrying: {exc}")
            _state["dirty"] = True
            return False
        _state["dirty"] = False
        _state["positions_due"] = True  # a tenant changed: its positions may have too
        if result.changed:
            logger.info(
                f"edge routing reloaded for {len(tenants)} tenants "
                f"in {result.reload_seconds * 1000:.1f} ms"
            )
        for warning in result.table.warnings:
            logger.warning(f"edge: {warning}")
        return True


@kopf.on.event(API_GROUP, API_VERSION, PLURAL)
async def edge_tenant_event(
    type: str | None, name: str, body: kopf.Body, logger: kopf.Logger, **_: Any
) -> None:
    """Note the change; the upkeep task applies it once the events pause (see _upkeep)."""
    if edge_sync() is None:
        return
    if type == "DELETED":
        _tenants.pop(name, None)
    else:
        _tenants[name] = _plain(body)
        if uid := (body.get("metadata") or {}).get("uid"):
            _uids[name] = uid
    now = time.monotonic()
    _state["last_event"] = now
    if _state.get("pending_since") is None:
        _state["pending_since"] = now
    wake: asyncio.Event | None = _state.get("wake")
    if wake is None:  # no upkeep task (not started through Kopf's startup): apply now
        _state["pending_since"] = None
        await sync_now(logger)
    else:
        wake.set()


@kopf.on.startup()
async def edge_start_upkeep(**_: Any) -> None:
    if edge_sync() is not None and _state.get("task") is None:
        _state["lock"] = asyncio.Lock()  # this loop's
        _state["wake"] = asyncio.Event()
        _state["applied"] = False
        _state["task"] = asyncio.get_running_loop().create_task(_upkeep())


@kopf.on.cleanup()
async def edge_stop_upkeep(**_: Any) -> None:
    task = _state.pop("task", None)
    _state.pop("wake", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def _due(now: float) -> bool:
    """A pending change is applied once the events pause for QUIET_SECONDS, and at the latest
    MAX_DELAY_SECONDS after the first one. The very first table waits for a longer pause and
    has no deadline: it must hold every tenant of the initial listing, never a part of it
    (a restarted sidecar would otherwise cut the calls of the tenants not listed yet)."""
    since = _state.get("pending_since")
    if since is None:
        return False
    if not _state.get("applied"):
        return now - _state["last_event"] >= FIRST_QUIET_SECONDS
    return now - _state["last_event"] >= QUIET_SECONDS or now - since >= MAX_DELAY_SECONDS


async def _upkeep() -> None:
    """Apply tenant changes (debounced), retry a failed reload, move the dropped-call records
    from Kamailio to the journal (logging each one for the ARMs to call back), then publish
    the journal to each tenant's ``dropped-calls`` ConfigMap and Events (edge/publish.py)."""
    period = float(os.environ.get(PERIOD_ENV, "1"))
    wake: asyncio.Event = _state["wake"]
    next_collect = time.monotonic() + period
    next_positions = 0.0
    while True:
        pending = _state.get("pending_since") is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(wake.wait(), timeout=0.05 if pending else period)
        wake.clear()
        now = time.monotonic()
        if _due(now):
            _state["pending_since"] = None
            if await sync_now():
                _state["applied"] = True
        elif _state["dirty"] and _state.get("pending_since") is None:
            await sync_now()
        sync = edge_sync()
        if sync is not None and (now >= next_positions or _state.pop("positions_due", False)):
            next_positions = now + float(os.environ.get(POSITIONS_ENV, "30"))
            await asyncio.to_thread(refresh_positions, sync)
        if sync is None or now < next_collect:
            continue
        next_collect = now + period
        try:
            records = await asyncio.to_thread(sync.collect_dropped)
        except (RpcError, OSError) as exc:
            log.warning(f"edge: cannot fetch dropped calls: {exc}")
            records = []
        for record in records:
            log.error(
                f"call dropped with its PBX, call back: caller {record.get('caller')} "
                f"tenant {record.get('tenant')} at {record.get('at')}"
            )
        await publish_dropped(sync)


async def publish_dropped(sync: EdgeSync) -> int:
    """Publish the journal's unpublished records (ConfigMap + Event per tenant). Any failure
    (API down, refused, network) keeps them in the journal for the next pass: never raised,
    the upkeep loop must go on routing calls."""
    publisher = _state.get("publisher")
    if publisher is None or publisher.journal != sync.files.dropped:
        publisher = _state["publisher"] = DroppedPublisher(sync.files.dropped, uids=_uids)
    try:
        return await asyncio.to_thread(publisher.publish)
    except Exception as exc:  # any API or transport error: retried next pass
        log.warning(f"edge: dropped calls not published yet, retrying: {exc}")
        return 0


def refresh_positions(sync: EdgeSync) -> bool:
    """Read each tenant's ``edge-positions`` Secret (by name: the edge may read no other
    Secret) and write the positions' tables. A tenant whose Secret cannot be read or used
    keeps its previous rows (logged); a tenant gone loses them."""
    client = kube.shared()
    for name in list(_positions):
        if name not in _tenants:
            del _positions[name]
    for name, body in list(_tenants.items()):
        department = str((body.get("spec") or {}).get("department") or "")
        ref = kube.Ref("v1", "Secret", name, EDGE_SECRET)
        try:
            secret = client.get(ref)
            if secret is None:
                continue  # not published yet (a new tenant): next pass
            data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
            _positions[name] = edge_positions.parse(name, department, data)
        except Exception as exc:  # the API, a malformed Secret: keep the previous rows
            log.error(f"edge: positions of {name} not updated, previous kept: {exc}")
    try:
        return sync.apply_positions(_positions.values())
    except OSError as exc:
        log.error(f"edge: positions tables not written, retried: {exc}")
        return False


def _plain(body: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"name": (body.get("metadata") or {}).get("name")},
        "spec": copy.deepcopy(dict(body.get("spec") or {})),
        "status": copy.deepcopy(dict(body.get("status") or {})),
    }
