"""Benchmark of the call keeper with a real keeper daemon, rtpengine, redis-server and SIPp on
127.0.0.1. Prints, in one run:

- call set-up latency (caller's INVITE to its 200 OK, p50/p99/max) through the keeper
  (keeper + rtpengine offer/answer + PBX) and without it (the caller straight to the same
  PBX stand-in, nothing in between: a conservative baseline, since today's edge also spends
  an rtpengine offer/answer per call); the phases take turns (--runs);
- the keeper's CPU per call (user + system seconds from /proc, set-up to BYE, divided by the
  calls), and its CPU per held call-second (the watcher's polling of rtpengine counters);
- the caller's rescue gap at N answered calls when their PBX is SIGKILLed and when it is
  SIGSTOPped: p50/p99/max from the calls' edge recordings (the dead PBX's last packet to the
  new PBX's first, as rtpengine received them), and the keeper's own measure (its polls).

Run: .venv/bin/python tests/benchmarks/bench_keeper.py [--calls 200] [--rate 20]
     [--rescue-calls 50] [--runs 2]
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.edge.harness import Rtpengine, missing_binaries
from tests.keeper.lab import Callers, Lab, RedisServer, wait_answered
from tests.media.recordings import recording_of

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def ms(values: list[float]) -> str:
    return (
        f"p50 {1000 * pct(values, 50):.1f} ms, p99 {1000 * pct(values, 99):.1f} ms, "
        f"max {1000 * max(values):.1f} ms ({len(values)} calls)"
    )


def setup_phase(lab: Lab, through_keeper: bool, calls: int, rate: int) -> tuple[list[float], float]:
    keeper = lab.keepers[0]
    target = lab.pbxs["pbx-a"]
    callers = Callers(
        lab.workdir, keeper, [target], to_port=None if through_keeper else target.port
    )
    lab.callers.append(callers)
    cpu0 = cpu_seconds(keeper.proc.pid)
    callers.start(calls, hold_ms=1000, rate=rate)
    if callers.wait(timeout=calls / rate + 60) != 0:
        print(f"  warning: some calls failed, see {callers.log}")
    seconds = callers.setup_seconds()
    return seconds, cpu_seconds(keeper.proc.pid) - cpu0


def held_cpu(lab: Lab, calls: int, seconds: int) -> float:
    """The keeper's CPU per held call-second, with ``calls`` answered calls doing nothing."""
    keeper = lab.keepers[0]
    callers = lab.call(keeper, [lab.pbxs["pbx-a"]], calls, hold_ms=(seconds + 4) * 1000)
    wait_answered(callers, calls, timeout=30)
    time.sleep(1.0)
    cpu0, t0 = cpu_seconds(keeper.proc.pid), time.monotonic()
    time.sleep(seconds)
    used, spent = cpu_seconds(keeper.proc.pid) - cpu0, time.monotonic() - t0
    callers.wait(timeout=60)
    return used / (calls * spent)


def rescue_phase(lab: Lab, how: str, calls: int) -> tuple[list[float], list[float]]:
    keeper = lab.keepers[0]
    a, b = lab.pbx(f"{how}-a"), lab.pbx(f"{how}-b")
    time.sleep(0.5)
    gaps_before = len(keeper_gaps(keeper.log))
    # long enough that the first call placed is still up well after the rescue of the last
    callers = lab.call(keeper, [a, b], calls, hold_ms=int((calls / 20 + 6) * 1000))
    wait_answered(callers, calls, timeout=30)
    time.sleep(1.5)
    a.kill() if how == "kill" else a.freeze()
    callers.wait(timeout=60)
    recorded = []
    for call_id in callers.answered():
        streams = recording_of(lab.rtpengine, call_id).streams()
        by_port = {port: packets for (_h, port), packets in streams.items()}
        old, new = by_port.get(lab.media_ports[a.name]), by_port.get(lab.media_ports[b.name])
        if old and new:
            recorded.append(min(p.at for p in new) - max(p.at for p in old))
        else:
            print(f"  {call_id}: no audio from {'the new PBX' if old else 'the first PBX'}")
    a.stop()
    b.stop()
    return recorded, keeper_gaps(keeper.log)[gaps_before:]


def keeper_gaps(log: Path) -> list[float]:
    out = []
    for line in log.read_text(errors="replace").splitlines():
        if "audio back from" in line and "after a gap of" in line:
            out.append(float(line.rsplit("after a gap of ", 1)[1].split()[0]))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="calls per set-up phase")
    parser.add_argument("--rate", type=int, default=20, help="calls per second")
    parser.add_argument("--rescue-calls", type=int, default=50)
    parser.add_argument("--held-seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=2, help="alternating set-up phase pairs")
    parser.add_argument("--keep", action="store_true", help="keep the logs and recordings")
    parser.add_argument(
        "--phases", default="setup,held,kill,freeze",
        help="which phases to run, comma-separated (setup, held, kill, freeze)",
    )  # fmt: skip
    args = parser.parse_args()
    missing = missing_binaries()
    if missing:
        print(f"not installed: {', '.join(missing)} (make debs)")
        return 1
    work = Path(tempfile.mkdtemp(prefix="bench-keeper-"))
    if True:
        redis = RedisServer(work).start()
        lab = Lab(work, redis.url, Rtpengine(work / "rtpengine", ports=2000).start())
        try:
            lab.pbx("pbx-a")
            lab.keeper("keeper-a")
            phases = set(args.phases.split(","))
            if "setup" in phases:
                kept: list[float] = []
                direct: list[float] = []
                cpu = 0.0
                for run in range(args.runs):
                    seconds, used = setup_phase(lab, True, args.calls, args.rate)
                    kept += seconds
                    cpu += used
                    direct += setup_phase(lab, False, args.calls, args.rate)[0]
                    print(f"run {run + 1}: through the keeper {ms(seconds)}")
                print(f"set-up through the keeper: {ms(kept)}")
                print(f"set-up without the keeper: {ms(direct)}")
                added50 = 1000 * (pct(kept, 50) - pct(direct, 50))
                added99 = 1000 * (pct(kept, 99) - pct(direct, 99))
                print(f"added by the keeper: p50 {added50:.1f} ms, p99 {added99:.1f} ms")
                print(
                    f"keeper CPU per call (set-up, 1 s of audio, BYE): {1000 * cpu / len(kept):.2f} ms"
                )
            if "held" in phases:
                per = held_cpu(lab, args.rescue_calls, args.held_seconds)
                print(
                    f"keeper CPU per held call: {100 * per:.3f} % of a core "
                    f"({args.rescue_calls} calls, counters polled every 0.2 s)"
                )
            for how in ("kill", "freeze"):
                if how in phases:
                    recorded, measured = rescue_phase(lab, how, args.rescue_calls)
                    print(
                        f"rescue gap, PBX {'killed' if how == 'kill' else 'frozen'}, from the recordings: {ms(recorded)}"
                    )
                    print(
                        f"rescue gap, PBX {'killed' if how == 'kill' else 'frozen'}, keeper's measure: {ms(measured)}"
                    )
        finally:
            lab.stop()
            redis.stop()
            if args.keep:
                print(f"files kept in {work}")
            else:
                shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
