"""rtpengine's per-call metadata file: which pcap, which ports, and the call's own metadata.

rtpengine writes it to ``spool/tmp`` while the call lasts and moves it to ``spool/metadata`` at
the call's end. It names the pcap on its first line, holds each SDP it saw (``SDP mode: offer``
then ``answer``) and, last, the ``metadata`` string Kamailio passed: pairs ``key:value`` (or
``key=value``) separated by ``|``, ``;`` or new lines, with keys ``tenant``, ``caller``,
``called``, ``callid`` (``call-id`` too).
"""

import re
from dataclasses import dataclass, field

_PAIR_SPLIT = re.compile(r"[|;\n]")
_KEYS = {"tenant": "tenant", "caller": "caller", "called": "called", "callid": "call_id",
         "call-id": "call_id", "call_id": "call_id"}  # fmt: skip


@dataclass(frozen=True)
class RtpengineMeta:
    pcap: str
    #: rtpengine's own port that the caller (offer side) sends to: the answer SDP's m= port.
    caller_port: int | None
    #: rtpengine's own port that the centre (answer side) sends to: the offer SDP's m= port.
    centre_port: int | None
    fields: dict[str, str] = field(default_factory=dict)
    start_ms: float | None = None
    end_ms: float | None = None


def parse(text: str) -> RtpengineMeta:
    """Parses one metadata file; unknown lines are ignored (rtpengine adds some per version)."""
    lines = text.splitlines()
    pcap = lines[0].strip() if lines else ""
    ports: dict[str, int] = {}
    mode = None
    fields: dict[str, str] = {}
    start = end = None
    for line in lines[1:]:
        if line.startswith("SDP mode:"):
            mode = line.split(":", 1)[1].strip()
        elif line.startswith("m=audio ") and mode and mode not in ports:
            ports[mode] = int(line.split()[1])
        elif line.startswith("Timestamp started ms:") and start is None:
            start = float(line.split(":", 1)[1])
        elif line.startswith("Timestamp terminated ms"):
            end = float(line.split(":", 1)[1])
        elif ":" in line or "=" in line:
            for pair in _PAIR_SPLIT.split(line):
                key, sep, value = pair.replace("=", ":", 1).partition(":")
                if sep and key.strip().lower() in _KEYS:
                    fields[_KEYS[key.strip().lower()]] = value.strip()
    return RtpengineMeta(pcap, ports.get("answer"), ports.get("offer"), fields, start, end)
