"""The shipper's journal: per recording, how far it is in the store, on the spool's volume.

One small JSON file per recording, replaced atomically (write, fsync, rename) after every chunk
the store confirmed: after a crash the shipper resumes from the last confirmed chunk. A chunk
confirmed but not yet journalled is shipped again under the same name with the same bytes, so
the store never holds it twice.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Progress:
    key: str
    path: str
    tenant: str | None  # None while an edge call lasts (rtpengine writes it at the end)
    call_id: str
    date: str
    container: str  # where the chunks go
    offset: int = 0  # bytes of the recording confirmed in the store
    seq: int = 0  # next chunk number
    shipped_at: float = 0.0  # wall clock of the last confirmed chunk
    first_time: float | None = None  # wall clock of the recording's first audio
    last_time: float | None = None
    caller: str | None = None
    called: str | None = None
    finalised_size: int = -1  # file size when the WAV and index were last written
    done: bool = False  # WAV and index in the store: the local files may go
    extra: dict[str, object] = field(default_factory=dict)


class Journal:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)

    def _file(self, key: str) -> Path:
        return self.directory / f"{key}.json"

    def load(self, key: str) -> Progress | None:
        try:
            raw = json.loads(self._file(key).read_text())
        except FileNotFoundError:
            return None
        return Progress(**raw)

    def all(self) -> list[Progress]:
        return [
            Progress(**json.loads(p.read_text())) for p in sorted(self.directory.glob("*.json"))
        ]

    def save(self, progress: Progress) -> None:
        target = self._file(progress.key)
        tmp = target.with_suffix(".json.tmp")
        with open(tmp, "w") as out:
            json.dump(asdict(progress), out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, target)

    def forget(self, key: str) -> None:
        self._file(key).unlink(missing_ok=True)
