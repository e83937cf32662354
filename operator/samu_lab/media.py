"""A media lab: the edge (Kamailio + rtpengine) with PBX stand-ins that answer with audio,
and SIPp callers that send the marker audio of samu_lab.markers."""

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

from samu_lab.edge import EdgeLab as Lab
from samu_lab.markers import write_marker_pcap
from samu_lab.paths import scenario as scenario_path
from samu_lab.procs import HOST, free_port, free_port_range, stop_process
from samu_lab.sipp import Pbx


@dataclass(frozen=True)
class MediaCall:
    call_id: str
    #: caller-facing media port the edge gave in the 183 (None without early media) and 200
    early_port: int | None
    port: int
    pbx: str
    #: the X-Samu-Unrecorded header the PBX got from the edge ("" when none)
    unrecorded: str
    #: "ok": the BYE was answered; "unanswered": it was not; None: no BYE (yet)
    bye: str | None


@dataclass
class MediaCaller:
    """SIPp placing calls that send the marker audio for `hold_ms` from the answer."""

    lab: Lab
    name: str = "caller"
    number: str = "15"
    department: str = "30"
    caller_prefix: str = "0466"
    port: int = field(default_factory=free_port)
    media_port: int = field(default_factory=lambda: free_port_range(4))
    #: caller_audio.xml (SDP in the INVITE) or caller_late_offer.xml (SDP in the ACK)
    scenario: str = "caller_audio.xml"
    proc: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.lab.workdir / f"{self.name}-{self.port}.log"

    def start(
        self, calls: int = 1, hold_ms: int = 4000, rate: int = 10, seconds: int = 0
    ) -> "MediaCaller":
        audio = self.lab.workdir / "markers.pcap"
        if not audio.exists():
            write_marker_pcap(audio, seconds or min(37, hold_ms // 1000 + 1))
        scenario = self.lab.workdir / f"{self.name}.xml"
        text = scenario_path(self.scenario).read_text()
        text = text.replace("PCAP_FILE", str(audio)).replace('"HOLD_MS"', f'"{hold_ms}"')
        scenario.write_text(text)
        cmd = ["sipp", f"{HOST}:{self.lab.edge.sip_port}", "-sf", str(scenario)]
        cmd += ["-i", HOST, "-mi", HOST, "-p", str(self.port), "-mp", str(self.media_port)]
        cmd += ["-s", self.number, "-key", "dep", self.department, "-key", "caller"]
        cmd += [self.caller_prefix, "-r", str(rate), "-m", str(calls), "-l", str(calls)]
        cmd += ["-nostdin", "-trace_logs", "-log_file", str(self.log), "-timeout", "120"]
        cmd += ["-recv_timeout", "8000", "-max_recv_loops", "5000"]
        err = (self.lab.workdir / f"{self.name}-{self.port}.err").open("wb")
        self.proc = subprocess.Popen(
            cmd, cwd=self.lab.workdir, stdout=subprocess.DEVNULL, stderr=err
        )
        self.lab.callers.append(self)
        return self

    def wait(self, timeout: float = 120.0) -> int:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            stop_process(self.proc)
            return -1

    def calls(self) -> list[MediaCall]:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        byes = dict(re.findall(r"^BYE (\S+) (\w+)$", text, re.M))
        out = []
        for call_id, early, port, pbx, unrecorded in re.findall(
            r"^MEDIA (\S+) (\S*) (\S+) (\S+) (\S*) ?answered$", text, re.M
        ):
            early_port = int(early) if early.isdigit() and early != "0" else None
            call = MediaCall(call_id, early_port, int(port), pbx, unrecorded, byes.get(call_id))
            out.append(call)
        return out

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)


def add_audio_pbx(lab: Lab, tenant: str, zone: str, scenario: str = "pbx_audio.xml") -> Pbx:
    """A PBX stand-in answering with PCMU SDP and echoing the audio it gets."""
    media = free_port_range(4)
    args = ["-mi", HOST, "-mp", str(media), "-rtp_echo"]
    return lab.add_pbx(tenant, zone, scenario=str(scenario_path(scenario)), args=args)
