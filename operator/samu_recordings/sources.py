"""Finding the recordings in a spool: rtpengine's pcaps and metadata (edge) or MixMonitor's
WAVs (PBX), as plain descriptions for the shipper's decisions."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from samu_recordings.core import rtpmeta
from samu_recordings.core.chunking import wav_finished
from samu_recordings.core.naming import safe_call_id


@dataclass
class Recording:
    key: str  # unique in the spool, a file name
    kind: str  # "pcap" | "wav"
    path: Path
    size: int
    mtime: float
    closed: bool  # the recorder said it is complete
    fields: dict[str, str] = field(default_factory=dict)
    caller_port: int | None = None
    meta_path: Path | None = None


MetaCache = dict[Path, tuple[float, int, rtpmeta.RtpengineMeta]]


def edge_recordings(spool: Path, cache: MetaCache | None = None) -> list[Recording]:
    """Every pcap in ``spool/pcaps`` with its metadata (``spool/tmp`` while the call lasts,
    ``spool/metadata`` once rtpengine closed it); ``cache`` keeps parsed metadata by file
    (re-read only when it changed: the shipper looks several times a second)."""
    cache = {} if cache is None else cache
    metas: dict[str, tuple[Path, bool]] = {}
    for sub, closed in (("tmp", False), ("metadata", True)):
        directory = spool / sub
        if directory.is_dir():
            for meta in directory.iterdir():
                # rtpengine-meta-<pcap stem>.tmp, then .txt once moved
                metas[Path(meta.name.removeprefix("rtpengine-meta-")).stem] = (meta, closed)
    for gone in set(cache) - {m for m, _ in metas.values()}:
        del cache[gone]
    found = []
    pcaps = spool / "pcaps"
    for path in sorted(pcaps.glob("*.pcap")) if pcaps.is_dir() else []:
        try:
            st = path.stat()
        except FileNotFoundError:
            continue
        meta_path, closed = metas.get(path.stem, (None, False))
        rec = Recording(
            path.stem, "pcap", path, st.st_size, st.st_mtime, closed, meta_path=meta_path
        )
        if meta_path is not None:
            try:
                meta = _read_meta(meta_path, cache)
            except FileNotFoundError:
                continue  # moved by rtpengine between the listing and now: next look
            rec.fields, rec.caller_port = dict(meta.fields), meta.caller_port
        rec.fields.setdefault("call_id", call_id_of_pcap(path.name))
        found.append(rec)
    return found


def _read_meta(path: Path, cache: MetaCache) -> rtpmeta.RtpengineMeta:
    st = path.stat()
    known = cache.get(path)
    if known and known[:2] == (st.st_mtime, st.st_size):
        return known[2]
    meta = rtpmeta.parse(path.read_text(errors="replace"))
    cache[path] = (st.st_mtime, st.st_size, meta)
    return meta


def call_id_of_pcap(name: str) -> str:
    """rtpengine names a pcap ``<url-quoted Call-ID>-<16 hex digits>.pcap``."""
    stem = name.removesuffix(".pcap")
    head, _, tail = stem.rpartition("-")
    return unquote(head if len(tail) == 16 and head else stem)


def pbx_recordings(spool: Path, tenant: str) -> list[Recording]:
    """Every ``<Call-ID-safe>.wav`` MixMonitor is writing or has written."""
    found = []
    for path in sorted(spool.glob("*.wav")) if spool.is_dir() else []:
        try:
            st = path.stat()
            with open(path, "rb") as f:
                header = f.read(512)
            closed = wav_finished(header, st.st_size)
        except (FileNotFoundError, ValueError, IndexError):
            closed = False  # header not written yet
        fields = {"tenant": tenant, "call_id": path.stem}
        found.append(
            Recording(
                f"pbx-{safe_call_id(path.stem)}",
                "wav",
                path,
                st.st_size,
                st.st_mtime,
                closed,
                fields,
            )
        )
    return found


def finalise_orphan_metadata(rec: Recording) -> None:
    """Moves an orphan's metadata to ``spool/metadata`` as rtpengine would have at the call's
    end, had it not been killed."""
    if rec.meta_path is None or rec.closed:
        return
    target = rec.meta_path.parent.parent / "metadata" / rec.meta_path.name
    target.parent.mkdir(exist_ok=True)
    os.replace(rec.meta_path, target)
    rec.meta_path, rec.closed = target, True
