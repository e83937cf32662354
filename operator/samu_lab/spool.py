"""The edge's recordings as rtpengine leaves them in its spool: one pcap per call
(``pcaps/<Call-ID, URL-quoted>-<random>.pcap``), and a metadata file naming it (written in
``tmp/`` during the call, moved to ``metadata/`` when the call ends) whose last line is the
call's metadata as the edge gave it: ``tenant:...|caller:...|called:...|callid:...``."""

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from samu_lab.markers import RtpPacket, markers, read_pcap_rtp, stream_samples, streams
from samu_lab.procs import wait_for
from samu_lab.rtpengine import Rtpengine


@dataclass(frozen=True)
class Recording:
    pcap: Path

    def packets(self) -> list[RtpPacket]:
        return read_pcap_rtp(self.pcap)

    def streams(self) -> dict[tuple[str, int], list[RtpPacket]]:
        return streams(self.packets())


def recordings_of(rtpengine: Rtpengine, call_id: str) -> list[Recording]:
    prefix = quote(call_id, safe="") + "-"
    pcaps = rtpengine.spool / "pcaps"
    return [Recording(p) for p in sorted(pcaps.glob("*.pcap")) if p.name.startswith(prefix)]


def recording_of(rtpengine: Rtpengine, call_id: str, timeout: float = 15.0) -> Recording:
    """The call's one recording (waits for rtpengine to have finished it)."""
    wait_for(lambda: bool(final_metadata(rtpengine, call_id)), timeout, f"{call_id}'s recording")
    [recording] = recordings_of(rtpengine, call_id)
    return recording


def _metadata_files(rtpengine: Rtpengine, call_id: str, where: str) -> list[Path]:
    name = quote(call_id, safe="") + "-"
    directory = rtpengine.spool / where
    return sorted(p for p in directory.glob("rtpengine-meta-*") if p.name[15:].startswith(name))


def final_metadata(rtpengine: Rtpengine, call_id: str) -> list[Path]:
    """The call's metadata files moved to metadata/: rtpengine closed the recording."""
    return _metadata_files(rtpengine, call_id, "metadata")


def metadata_of(rtpengine: Rtpengine, call_id: str) -> dict[str, str]:
    """The edge's metadata of a call, as "key:value" pairs (from the finished file, else the
    one being written)."""
    files = final_metadata(rtpengine, call_id) or _metadata_files(rtpengine, call_id, "tmp")
    if not files:
        raise FileNotFoundError(f"no rtpengine metadata for {call_id} in {rtpengine.spool}")
    [path] = files
    last = [line for line in path.read_text().splitlines() if line.strip()][-1]
    return dict(item.split(":", 1) for item in last.split("|"))


def caller_markers(stream: list[RtpPacket]) -> list[int | None]:
    """The marker seconds heard in a stream, in order."""
    return list(markers(stream_samples(stream)))
