"""The shipper's configuration, read from environment variables into plain data.

A wrong value stops the shipper at start with one line naming the variable and the fix; the
recordings stay on disk untouched.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from samu_recordings.core.chunking import check_chunk_seconds

SOURCES = ("edge", "pbx")


class ConfigError(ValueError):
    """A shipper setting is missing or wrong; the message names it and says what to give."""


@dataclass(frozen=True)
class ShipperConfig:
    source: str
    spool: Path
    state: Path
    zone: str
    tenant: str | None = None
    metrics_port: int = 9102
    chunk_seconds: float = 1.0
    poll_seconds: float = 0.25
    #: A recording that has not grown for this long and that its recorder did not close is an
    #: orphan (recorder killed): finalised and cleaned up. Longer than rtpengine's own no-media
    #: timeout (60 s) so that a call on hold is never taken for one.
    idle_seconds: float = 90.0
    retention_days: int | None = None
    workers: int = 4
    #: The edge's Kamailio JSON-RPC (``http://127.0.0.1:<port>/RPC``, same pod): a running
    #: call's tenant is asked there, so that its chunks go straight to the tenant's container.
    edge_rpc: str | None = None


def _number(env: Mapping[str, str], key: str, default: float, kind: type = float) -> float:
    raw = env.get(key)
    if raw in (None, ""):
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{key}: {raw!r} is not a number") from None
    if value <= 0:
        raise ConfigError(f"{key}: {raw}; give a positive number")
    return value


def from_env(env: Mapping[str, str]) -> ShipperConfig:
    source = env.get("SAMU_SHIPPER_SOURCE", "")
    if source not in SOURCES:
        raise ConfigError(f"SAMU_SHIPPER_SOURCE: {source!r}; set it to edge or pbx")
    for key in ("SAMU_SHIPPER_SPOOL", "SAMU_SHIPPER_STATE", "SAMU_SHIPPER_ZONE"):
        if not env.get(key):
            raise ConfigError(f"{key}: unset; see docs/recordings.md for the shipper's variables")
    tenant = env.get("SAMU_SHIPPER_TENANT") or None
    if source == "pbx" and not tenant:
        raise ConfigError("SAMU_SHIPPER_TENANT: unset; the PBX shipper must name its tenant")
    retention = env.get("SAMU_SHIPPER_RETENTION_DAYS")
    edge_rpc = env.get("SAMU_SHIPPER_EDGE_RPC") or None
    if edge_rpc and not edge_rpc.startswith(("http://", "https://")):
        raise ConfigError(
            f"SAMU_SHIPPER_EDGE_RPC: {edge_rpc!r}; give Kamailio's JSON-RPC URL, "
            "e.g. http://127.0.0.1:8080/RPC"
        )
    if edge_rpc and source != "edge":
        raise ConfigError("SAMU_SHIPPER_EDGE_RPC: only the edge's shipper asks Kamailio; unset it")
    try:
        chunk = check_chunk_seconds(_number(env, "SAMU_SHIPPER_CHUNK_SECONDS", 1.0))
    except ValueError as err:
        raise ConfigError(str(err)) from None
    return ShipperConfig(
        source=source,
        spool=Path(env["SAMU_SHIPPER_SPOOL"]),
        state=Path(env["SAMU_SHIPPER_STATE"]),
        zone=env["SAMU_SHIPPER_ZONE"],
        tenant=tenant,
        metrics_port=int(_number(env, "SAMU_SHIPPER_METRICS_PORT", 9102, int)),
        chunk_seconds=chunk,
        poll_seconds=_number(env, "SAMU_SHIPPER_POLL_SECONDS", 0.25),
        idle_seconds=_number(env, "SAMU_SHIPPER_IDLE_SECONDS", 90.0),
        retention_days=int(_number(env, "SAMU_SHIPPER_RETENTION_DAYS", 0, int))
        if retention
        else None,
        workers=int(_number(env, "SAMU_SHIPPER_WORKERS", 4, int)),
        edge_rpc=edge_rpc,
    )
