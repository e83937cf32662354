"""Atomic writes of the edge's table files.

Kamailio may re-read a file at any moment (a reload from another change, a restart), so a
file is written next to its final name and renamed over it: a reader sees the old or the
new text, never half of one.
"""

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DISPATCHER_FILE = "dispatcher.list"
#: db_text table name: the file name in the db_text directory (EDGE_ROUTING_DB).
ROUTING_FILE = "routing"
DROPPED_FILE = "dropped-calls.jsonl"
#: db_text tables of the positions (core/edge_positions.py): auth_db's and permissions'.
SUBSCRIBER_FILE = "subscriber"
ADDRESS_FILE = "address"
VERSION_FILE = "version"


def write_atomic(path: Path, text: str, *, distinct_mtime: bool = False) -> bool:
    """Write ``text`` to ``path`` atomically; False (and nothing written) when unchanged.

    ``distinct_mtime``: Kamailio's db_text re-reads a table only when its modification time
    changed, compared in whole seconds; two writes within one second would leave the old
    table loaded, so the new file gets a time at least one second past the old one.
    """
    previous_mtime: int | None = None
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
        previous_mtime = int(path.stat().st_mtime)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        if distinct_mtime and previous_mtime is not None:
            now = int(time.time())
            mtime = max(now, previous_mtime + 1)
            os.utime(tmp, (mtime, mtime))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True


@dataclass(frozen=True)
class EdgeFiles:
    """The directory the edge reads its tables from (a volume shared with Kamailio)."""

    directory: Path

    @property
    def dispatcher(self) -> Path:
        return self.directory / DISPATCHER_FILE

    @property
    def routing(self) -> Path:
        return self.directory / ROUTING_FILE

    @property
    def dropped(self) -> Path:
        return self.directory / DROPPED_FILE

    @property
    def subscriber(self) -> Path:
        return self.directory / SUBSCRIBER_FILE

    @property
    def address(self) -> Path:
        return self.directory / ADDRESS_FILE

    @property
    def version(self) -> Path:
        return self.directory / VERSION_FILE
