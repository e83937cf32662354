"""Benchmark of the edge's media anchor with real Kamailio, rtpengine and SIPp on 127.0.0.1.

Prints, for N concurrent calls held for S seconds with G.711 audio both ways (callers play
the marker audio of tests/media/audio.py, the PBX stand-ins echo it back), in the same run:
- rtpengine's CPU (user + system, from /proc) per concurrent call, recording every call
  (pcap, the edge's configuration) and forwarding without recording (the same rtpengine
  with no recording method: the edge's `record-call=yes` then records nothing);
- RTP packets lost: the callers' packets times two (there and echoed back) minus the packets
  rtpengine relayed (rtpengine_packets_total), and rtpengine's packet errors; the recorded
  run also counts, per call, the caller packets its recording holds.
The phases take turns (--runs pairs) so that the neighbours' load hits both alike.

Run: .venv/bin/python tests/benchmarks/bench_media.py [--calls 100] [--seconds 60] [--runs 1]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.edge.conftest import Lab, tenant_doc
from tests.edge.harness import Rtpengine, missing_binaries, wait_for
from tests.media.audio import read_pcap_rtp, write_marker_pcap
from tests.media.lab import MediaCaller, add_audio_pbx

TICKS = os.sysconf("SC_CLK_TCK")


class ForwardingRtpengine(Rtpengine):
    """The same rtpengine with no recording method: it forwards only."""

    def command(self) -> list[str]:
        return [a for a in super().command() if not a.startswith("--recording-")]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


@dataclass
class Phase:
    name: str
    cpu_percent_per_call: float
    answered: int
    sent: int
    relayed: int
    packet_errors: float
    recorded_caller_packets: int | None

    @property
    def lost(self) -> int:
        return max(0, 2 * self.sent - self.relayed)


def run_phase(work: Path, name: str, recording: bool, args: argparse.Namespace) -> Phase:
    lab = Lab(work)
    cls = Rtpengine if recording else ForwardingRtpengine
    lab.rtpengine = cls(work / "rtpengine", ports=max(400, args.calls * 8))
    try:
        add_audio_pbx(lab, "samu-30", "a")
        add_audio_pbx(lab, "samu-30", "b")
        lab.start([tenant_doc("30")])
        audio = write_marker_pcap(work / "markers.pcap", args.seconds + 2)
        per_call = len(read_pcap_rtp(audio))
        hold_ms = (args.seconds + 4) * 1000
        rate = min(50, args.calls)
        caller = MediaCaller(lab).start(calls=args.calls, hold_ms=hold_ms, rate=rate)
        ramp = args.calls / rate + 30
        wait_for(lambda: len(caller.calls()) >= args.calls, ramp, f"{args.calls} answered calls")
        assert lab.rtpengine.proc is not None
        pid = lab.rtpengine.proc.pid
        time.sleep(1.0)  # every call's audio started
        start_cpu, start = cpu_seconds(pid), time.monotonic()
        time.sleep(args.seconds - 2)
        used, elapsed = cpu_seconds(pid) - start_cpu, time.monotonic() - start
        caller.wait(timeout=args.seconds + 120)
        time.sleep(1.0)
        relayed = lab.rtpengine.metric('rtpengine_packets_total{type="userspace"}') or 0
        errors = sum(
            float(line.split()[-1])
            for line in lab.rtpengine.metrics().splitlines()
            if line.startswith("rtpengine_packet_errors_total")
        )
        calls = caller.calls()
        recorded = None
        if recording:
            recorded = 0
            for pcap in (lab.rtpengine.spool / "pcaps").glob("*.pcap"):
                packets = read_pcap_rtp(pcap)
                recorded += sum(1 for p in packets if p.source[1] == caller.media_port)
        return Phase(
            name,
            100.0 * used / elapsed / args.calls,
            len(calls),
            per_call * len(calls),
            int(relayed),
            errors,
            recorded,
        )
    finally:
        lab.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--runs", type=int, default=1, help="pairs of phases, taking turns")
    args = parser.parse_args()
    missing = missing_binaries()
    if missing:
        print(f"missing: {', '.join(missing)} (make debs installs them)")
        return 2
    phases: dict[str, list[Phase]] = {"recorded": [], "forwarded": []}
    with tempfile.TemporaryDirectory(prefix="bench-media-") as tmp:
        for run in range(args.runs):
            for name, recording in (("recorded", True), ("forwarded", False)):
                work = Path(tmp) / f"{name}-{run}"
                work.mkdir()
                phase = run_phase(work, name, recording, args)
                phases[name].append(phase)
                print(
                    f"  {name:9} run {run + 1}: {phase.answered}/{args.calls} calls answered, "
                    f"rtpengine CPU {phase.cpu_percent_per_call:.3f} % of a core per call, "
                    f"caller packets {phase.sent}, relayed {phase.relayed} (expected "
                    f"{2 * phase.sent}), lost {phase.lost}, packet errors {phase.packet_errors:.0f}"
                    + (
                        f", caller packets in the recordings {phase.recorded_caller_packets}"
                        if phase.recorded_caller_packets is not None
                        else ""
                    )
                )
    print(f"== media: {args.calls} concurrent G.711 calls for {args.seconds} s, both ways")
    for name, runs in phases.items():
        cpu = statistics.median(p.cpu_percent_per_call for p in runs)
        lost = sum(p.lost for p in runs)
        print(
            f"rtpengine {name:9}: {cpu:.3f} % of a core per concurrent call "
            f"({cpu * args.calls:.1f} % for {args.calls} calls), RTP packets lost {lost}"
        )
    rec = statistics.median(p.cpu_percent_per_call for p in phases["recorded"])
    fwd = statistics.median(p.cpu_percent_per_call for p in phases["forwarded"])
    print(f"recording costs {rec / fwd:.2f}x the CPU of forwarding alone")
    return 0


if __name__ == "__main__":
    sys.exit(main())
