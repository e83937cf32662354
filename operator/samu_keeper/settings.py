"""The keeper's settings, from its environment (``SAMU_KEEPER_*``) or the same names as
command-line flags; a bad value is refused with the variable's name and what it must be."""

import os
import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, fields

from samu_keeper.core import leg_health, media_watch
from samu_keeper.core.setup import HOST

_HOSTPORT = re.compile(rf"^(?P<host>{HOST}):(?P<port>\d{{1,5}})$")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class SettingsError(ValueError):
    """A setting the keeper cannot run with (names the variable and the fix)."""


@dataclass(frozen=True)
class Settings:
    #: this keeper's name among its peers (its Contact's user part, its heartbeat key)
    keeper_id: str
    #: host:port the keeper's SIP (UDP) listens on
    listen: tuple[str, int]
    #: host the keeper's Contact names (what Kamailio and the PBX send in-dialog requests to)
    advertise: str
    #: host:port of rtpengine's ng listener
    rtpengine: tuple[str, int]
    #: Redis holding the kept calls' state, shared by every keeper of the edge
    redis_url: str
    #: host:port of the /metrics listener
    metrics: tuple[str, int] = ("0.0.0.0", 9108)
    #: rtpengine's logical interfaces, carrier side then PBX side ("" when it has one)
    directions: tuple[str, ...] = ()
    #: a directory rtpengine can read too: the rescue prompt is written there at start
    prompt_dir: str = "/var/lib/samu-keeper"
    #: the dropped-calls journal a failed rescue appends to (the edge sidecar publishes it)
    ledger: str = "/var/lib/samu-edge/dropped-calls.jsonl"
    media_silence_s: float = leg_health.DEFAULT_MEDIA_SILENCE_S
    poll_s: float = media_watch.DEFAULT_POLL_S
    probe_s: float = 0.5
    probe_failures: int = leg_health.DEFAULT_PROBE_FAILURES
    #: a PBX that sends nothing for this long to a set-up INVITE is skipped for the next
    setup_timeout_s: float = 1.0
    #: this keeper's heartbeat expiry: peers adopt its calls this long after it died
    heartbeat_ms: int = 1500

    @property
    def prompt_path(self) -> str:
        return os.path.join(self.prompt_dir, "restez-en-ligne.wav")


def _hostport(name: str, value: str) -> tuple[str, int]:
    found = _HOSTPORT.match(value.strip())
    if not found or not 0 < int(found["port"]) < 65536:
        raise SettingsError(f"{name}={value!r}: must be <host>:<port> (e.g. 127.0.0.1:2223)")
    return found["host"].strip("[]"), int(found["port"])


def _number(name: str, value: str, low: float, high: float) -> float:
    try:
        number = float(value)
    except ValueError:
        raise SettingsError(f"{name}={value!r}: must be a number of seconds") from None
    if not low <= number <= high:
        raise SettingsError(f"{name}={value!r}: must be between {low} and {high}")
    return number


def from_env(env: Mapping[str, str]) -> Settings:
    """Settings from ``SAMU_KEEPER_<FIELD>`` variables (upper case field names)."""

    def get(field: str, default: str | None = None) -> str:
        value = env.get(f"SAMU_KEEPER_{field.upper()}", default)
        if value is None or not str(value).strip():
            raise SettingsError(f"SAMU_KEEPER_{field.upper()} is required: {_HELP[field]}")
        return str(value).strip()

    keeper_id = get("keeper_id", env.get("HOSTNAME") or socket.gethostname()).lower()
    if not _ID.match(keeper_id):
        raise SettingsError(
            f"SAMU_KEEPER_KEEPER_ID={keeper_id!r}: lower-case letters, digits and '-' only "
            "(it is a SIP user part and a Redis key)"
        )
    listen = _hostport("SAMU_KEEPER_LISTEN", get("listen", "0.0.0.0:5070"))
    advertise = get("advertise", "" if listen[0] == "0.0.0.0" else listen[0])
    redis_url = get("redis_url")
    if not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError(
            f"SAMU_KEEPER_REDIS_URL={redis_url!r}: must be a redis://, rediss:// or unix:// URL"
        )
    raw = env.get("SAMU_KEEPER_DIRECTIONS", "").strip()
    directions = tuple(d.strip() for d in raw.split(",")) if raw else ()
    if directions and (len(directions) != 2 or not all(directions)):
        raise SettingsError(
            f"SAMU_KEEPER_DIRECTIONS={raw!r}: two rtpengine "
            "interface names, carrier side first (e.g. carrier,internal), or unset"
        )
    defaults = {f.name: f.default for f in fields(Settings)}
    return Settings(
        keeper_id=keeper_id,
        listen=listen,
        advertise=advertise,
        rtpengine=_hostport("SAMU_KEEPER_RTPENGINE", get("rtpengine")),
        redis_url=redis_url,
        metrics=_hostport("SAMU_KEEPER_METRICS", get("metrics", "0.0.0.0:9108")),
        directions=directions,
        prompt_dir=get("prompt_dir", str(defaults["prompt_dir"])),
        ledger=get("ledger", str(defaults["ledger"])),
        media_silence_s=_number(
            "SAMU_KEEPER_MEDIA_SILENCE_S", get("media_silence_s", "1.0"), 0.2, 30
        ),
        poll_s=_number("SAMU_KEEPER_POLL_S", get("poll_s", "0.2"), 0.05, 5),
        probe_s=_number("SAMU_KEEPER_PROBE_S", get("probe_s", "0.5"), 0.1, 30),
        probe_failures=int(
            _number("SAMU_KEEPER_PROBE_FAILURES", get("probe_failures", "3"), 1, 100)
        ),
        setup_timeout_s=_number(
            "SAMU_KEEPER_SETUP_TIMEOUT_S", get("setup_timeout_s", "1.0"), 0.1, 32
        ),
        heartbeat_ms=int(
            _number("SAMU_KEEPER_HEARTBEAT_MS", get("heartbeat_ms", "1500"), 100, 60000)
        ),
    )


_HELP = {
    "keeper_id": "this keeper's name among its peers (the pod name)",
    "listen": "host:port of the keeper's SIP listener",
    "advertise": "the address the keeper's Contact names (its pod IP) when it listens on 0.0.0.0",
    "rtpengine": "host:port of rtpengine's ng listener (e.g. 127.0.0.1:2223)",
    "redis_url": "the Redis holding the kept calls (e.g. redis://samu-keeper-redis:6379/0)",
    "metrics": "host:port of the /metrics listener",
    "prompt_dir": "a directory rtpengine can read",
    "ledger": "the dropped-calls journal file",
    "media_silence_s": "seconds",
    "poll_s": "seconds",
    "probe_s": "seconds",
    "probe_failures": "a count",
    "setup_timeout_s": "seconds",
    "heartbeat_ms": "milliseconds",
}
