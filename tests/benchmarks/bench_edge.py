"""Benchmark of the SIP edge with real Kamailio and SIPp on 127.0.0.1.

Prints:
1. the highest call rate with zero failed set-ups through the full edge config (territorial
   routing map of 100 SAMU, dispatcher sets, failure_route, answered-call records, counters)
   and through a plain dispatcher config (algorithm 8, failure_route to the next PBX, which
   tests/edge/test_bench_baseline.py checks: every call to SAMU 30's set), measured in the
   same run, and their ratio (goal >= 0.8). Both load the same 100-SAMU dispatcher list
   (200 PBX probed every second): they differ by their routing logic only.
   Each Kamailio runs capped at ``--kamailio-cpu`` of one CPU (a cgroup quota, see
   cpucap.py): uncapped, SIPp saturates the 2 shared cores first and the
   "highest rate" measures SIPp and the neighbours, not Kamailio (earlier uncapped runs gave
   ratios from 0.71 to 3.84). Also Kamailio's CPU time per call of both configs at a fixed
   rate, the configs taking turns (their inverse ratio is the share of the plain proxy's
   capacity the full edge keeps);
2. the time of a runtime reload of the 100-SAMU table (write + dispatcher.reload +
   htable.reload);
3. a zone loss at 100 calls/s: set-ups failed, set-ups delayed and by how much, answered
   calls dropped with their PBX and how many of them were recorded for call-back.

Run (root, for the cgroup; without it the ladder runs uncapped and says so):
    .venv/bin/python tests/benchmarks/bench_edge.py [--kamailio-cpu 0.15] [--max-rate 3000]
        [--seconds 3] [--cpu-rate 200] [--cpu-runs 3] [--loss-rate 100] [--ladders 5]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from samu_operator.core.routing import build_routing
from samu_operator.edge.files import write_atomic
from samu_operator.model.departments import DEPARTMENTS
from tests.benchmarks.cpucap import CpuCap, cpu_cap
from tests.edge.conftest import Lab, tenant_doc
from tests.edge.harness import EDGE_CFG, Caller, Kamailio, missing_binaries

#: The baseline: a plain dispatcher proxy (algorithm 8, failure_route, nothing else).
PLAIN_CFG = (Path(__file__).parent / "plain_dispatcher.cfg").read_text()


def hundred_samu(zones: tuple[str, ...] = ("a", "b")) -> list[dict[str, Any]]:
    codes = sorted(DEPARTMENTS)[:100]
    docs = []
    for i, code in enumerate(codes):
        partner = codes[(i + 1) % len(codes)]
        docs.append(
            tenant_doc(
                code,
                numbers=[f"+3340000{i:04d}"] if code != "30" else ["+33466000015"],
                zones=zones,
                partner=f"samu-{partner.lower()}",
            )
        )
    return docs


def run_rate(
    edge: Kamailio, workdir: Path, number: str, rate: int, seconds: float
) -> tuple[int, float]:
    """(failed set-ups, achieved rate) of one SIPp run at ``rate`` calls/s."""
    calls = int(rate * seconds)
    caller = Caller(edge, workdir, number=number, name=f"bench{rate}")
    run = caller.start(rate, calls, hold_ms=100, limit=max(200, rate * 2)).wait(timeout=60)
    starts = sorted(c.start for c in run.calls)
    achieved = (len(starts) - 1) / (starts[-1] - starts[0]) if len(starts) > 1 else 0.0
    failures = run.failed_setups + sum(1 for c in run.calls if c.result != "ok")
    return failures, achieved


def step_ok(
    edge: Kamailio, workdir: Path, number: str, rate: int, seconds: float, notes: list[str]
) -> bool:
    """One rate step; the machine is shared, so a step fails only if it fails twice. A short
    uncounted warm-up at the rate comes first: the first run at each new top rate collapsed in
    both configs alike (memory for the new load being faulted in under the cap)."""
    cap = getattr(edge, "cap", None)
    run_rate(edge, workdir, number, rate, min(1.0, seconds))
    for _ in (1, 2):
        before = cap.throttled() if cap else (0, 0)
        failures, achieved = run_rate(edge, workdir, number, rate, seconds)
        ok = failures == 0 and achieved >= 0.9 * rate
        note = f"{rate}/s: {failures} failed, {achieved:.0f}/s {'ok' if ok else 'x'}"
        if cap:
            periods, throttled = (a - b for a, b in zip(cap.throttled(), before, strict=True))
            note += f" (capped {throttled / max(periods, 1):.0%})"
        notes.append(note)
        if ok:
            return True
    return False


def highest_rates(
    targets: dict[str, tuple[Kamailio, Path, str]], args: argparse.Namespace
) -> dict[str, tuple[int, list[str]]]:
    """Highest zero-failure rate of each config: the same rate ladder (x1.4) for all, one
    after the other at each step (so that the neighbours' load hits them alike), then three
    bisection steps between the last rate that passed and the first that failed."""
    best = dict.fromkeys(targets, 0)
    failed: dict[str, int | None] = dict.fromkeys(targets)
    notes: dict[str, list[str]] = {name: [] for name in targets}
    rate = args.start_rate
    order = list(targets)
    while rate <= args.max_rate and any(f is None for f in failed.values()):
        for name in order:
            if failed[name] is None:
                if step_ok(*targets[name], rate, args.seconds, notes[name]):
                    best[name] = rate
                else:
                    failed[name] = rate
        order.reverse()
        rate = int(rate * 1.4)
    for name in order:
        low, high = best[name], failed[name]
        for _ in range(3 if high else 0):
            mid = (low + high) // 2  # type: ignore[operator]
            if mid <= low:
                break
            if step_ok(*targets[name], mid, args.seconds, notes[name]):
                low = mid
            else:
                high = mid
        best[name] = low
    return {name: (best[name], notes[name]) for name in targets}


def kamailio_cpu_seconds(edge: Kamailio) -> float:
    """CPU time (user + system) used so far by an edge's Kamailio and all its processes."""
    assert edge.proc is not None
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        pid, ppid = int(stat.parent.name), int(fields[1])
        if edge.proc.pid in (pid, ppid):
            total += int(fields[11]) + int(fields[12])
    return total / tick


def cpu_per_call(
    edge: Kamailio, workdir: Path, number: str, rate: int, calls: int
) -> tuple[float, int]:
    """Kamailio CPU milliseconds per call at a fixed, comfortable rate (noise-resistant: it
    does not depend on whether the shared machine lets SIPp keep up), and failed set-ups."""
    before = kamailio_cpu_seconds(edge)
    caller = Caller(edge, workdir, number=number, name=f"cpu{rate}")
    run = caller.start(rate, calls, hold_ms=100).wait(timeout=120)
    time.sleep(0.5)  # the last BYE transactions
    return (kamailio_cpu_seconds(edge) - before) * 1000 / calls, run.failed_setups


@dataclass
class CappedKamailio(Kamailio):
    """The harness's Kamailio, run inside a CPU cap (see cpucap.py) when one is given."""

    cap: CpuCap | None = None

    def command(self) -> list[str]:
        cmd = super().command()
        return self.cap.wrap(cmd) if self.cap else cmd


def cpu_per_call_median(
    targets: dict[str, tuple[Kamailio, Path, str]], rate: int, calls: int, reps: int
) -> dict[str, tuple[float, int]]:
    """Median CPU ms per call of each config, the configs taking turns (neighbours' load
    hits them alike), and the failed set-ups summed over the runs."""
    samples: dict[str, list[float]] = {name: [] for name in targets}
    failed = dict.fromkeys(targets, 0)
    for _ in range(reps):
        for name, (edge, workdir, number) in targets.items():
            ms, failures = cpu_per_call(edge, workdir, number, rate, calls)
            samples[name].append(ms)
            failed[name] += failures
    return {name: (statistics.median(samples[name]), failed[name]) for name in targets}


def bench_reload(lab: Lab, docs: list[dict[str, Any]]) -> None:
    times = []
    for i in range(10):
        time.sleep(1.1)  # dispatcher accepts one reload a second (reload_delta)
        docs[0]["status"]["epoch"] = 10 + i  # a change every time
        table = build_routing(docs, addresses=lab.all_addresses)
        start = time.perf_counter()
        write_atomic(lab.edge.files.dispatcher, table.dispatcher_list())
        write_atomic(lab.edge.files.routing, table.routing_map(), distinct_mtime=True)
        lab.sync.reload()
        times.append(time.perf_counter() - start)
    print(
        f"== reload of the 100-SAMU table (write + dispatcher.reload + htable.reload), "
        f"10 runs 1.1 s apart: median {statistics.median(times) * 1000:.1f} ms, "
        f"max {max(times) * 1000:.1f} ms"
    )


def bench_rates(args: argparse.Namespace) -> None:
    caps = {name: cpu_cap(name, args.kamailio_cpu) for name in ("full", "plain")}
    why_not = next((why for cap, why in caps.values() if cap is None), "")
    with tempfile.TemporaryDirectory(prefix="bench-edge-") as tmp:
        work = Path(tmp)
        lab = Lab(work / "full")
        (work / "full").mkdir()
        lab.edge = CappedKamailio(
            lab.edge.workdir,
            cfg=args.edge_cfg,
            defines=lab.edge.defines,
            children=args.children,
            cap=caps["full"][0],
        )
        try:
            for zone in ("a", "b"):
                lab.add_pbx("samu-30", zone)
            pbx_uri = {z: lab.pbx[f"samu-30/{z}"].uri for z in ("a", "b")}
            docs = hundred_samu()
            for doc in docs:
                for zone in ("a", "b"):
                    lab.addresses[f"{doc['metadata']['name']}/{zone}"] = pbx_uri[zone]
            lab.start(docs)

            plain_dir = work / "plain"
            (plain_dir / "tables").mkdir(parents=True)
            cfg = plain_dir / "plain.cfg"
            cfg.write_text(PLAIN_CFG)
            # The same 100-SAMU dispatcher list (so the same 200 destinations probed each
            # second): the two configs differ by their routing logic only, every call to
            # SAMU 30's set.
            (plain_dir / "tables" / "dispatcher.list").write_text(
                lab.edge.files.dispatcher.read_text()
            )
            (plain_dir / "tables" / "routing").write_text("")
            # the same rtpengine anchors the plain proxy's calls (see plain_dispatcher.cfg)
            media = {"EDGE_RTPENGINE_SOCK": lab.edge.defines["EDGE_RTPENGINE_SOCK"]}
            plain_edge = CappedKamailio(
                plain_dir, cfg=cfg, defines=media, children=args.children, cap=caps["plain"][0]
            )
            targets = {
                "full": (lab.edge, work / "full", "+33466000015"),
                "plain": (plain_edge, plain_dir, "15"),
            }
            try:
                plain_edge.start()
                # CPU first, on fresh processes (the rate ladder leaves timers behind)
                cpu = cpu_per_call_median(targets, args.cpu_rate, args.cpu_rate * 5, args.cpu_runs)
                found = [highest_rates(targets, args) for _ in range(args.ladders)]
            finally:
                plain_edge.stop()
            print_rates(args, found, cpu, why_not)
            bench_reload(lab, docs)
        finally:
            lab.stop()
            for cap, _ in caps.values():
                if cap:
                    cap.remove()


def print_rates(
    args: argparse.Namespace,
    found: list[dict[str, tuple[int, list[str]]]],
    cpu: dict[str, tuple[float, int]],
    why_not: str,
) -> None:
    bound = (
        f"each Kamailio capped at {args.kamailio_cpu:.0%} of one CPU, so the rate is "
        "Kamailio's own, not SIPp's"
        if not why_not
        else f"UNCAPPED ({why_not}): SIPp and the neighbours may be the limit, not Kamailio"
    )
    print(
        f"== highest zero-failure call rate (calls/s, hold 100 ms, {args.seconds:g} s per step; "
        f"{bound})"
    )
    ratios = []
    for i, ladder in enumerate(found, 1):
        (full, full_notes), (plain, plain_notes) = ladder["full"], ladder["plain"]
        print(f"ladder {i}/{len(found)}")
        print(f"full edge config (100 SAMU): {full}/s   [{'; '.join(full_notes)}]")
        print(f"plain dispatcher config:     {plain}/s   [{'; '.join(plain_notes)}]")
        ratios.append(full / plain if plain else 0.0)
        print(f"ratio full/plain: {ratios[-1]:.2f} (goal >= 0.8)")
    if len(found) > 1:
        # One ladder's knee moves a lot from run to run on this shared machine (a step
        # fails on 1 call in 2000): the median of several says more than any one of them.
        full_rates = [ladder["full"][0] for ladder in found]
        plain_rates = [ladder["plain"][0] for ladder in found]
        print(
            f"median of {len(found)} ladders: full {statistics.median(full_rates):.0f}/s, plain "
            f"{statistics.median(plain_rates):.0f}/s, ratio {statistics.median(ratios):.2f} "
            f"(each: {', '.join(f'{r:.2f}' for r in ratios)}; goal >= 0.8)"
        )
    (full_ms, full_failed), (plain_ms, plain_failed) = cpu["full"], cpu["plain"]
    print(
        f"== Kamailio CPU per call at {args.cpu_rate}/s (median of {args.cpu_runs} runs of "
        f"{args.cpu_rate * 5} calls each, configs taking turns; all its processes, user+system)"
    )
    print(
        f"full: {full_ms:.3f} ms/call ({full_failed} failed), plain: {plain_ms:.3f} "
        f"ms/call ({plain_failed} failed) -> capacity ratio plain/full "
        f"{plain_ms / full_ms:.2f} (the share of the plain proxy's call rate the full "
        "edge reaches on the same CPU)"
    )


def bench_zone_loss(rate: int, seconds: float) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-edge-loss-") as tmp:
        lab = Lab(Path(tmp))
        try:
            active = lab.add_pbx("samu-30", "a")
            lab.add_pbx("samu-30", "b")
            lab.start([tenant_doc("30", numbers=["+33466000015"])])
            calls = int(rate * seconds)
            caller = lab.caller(number="+33466000015").start(rate, calls, hold_ms=1000)
            time.sleep(seconds / 2)
            lost_at = active.freeze()
            run = caller.wait(timeout=60)
            after = [c for c in run.calls if c.start > lost_at - 0.6]
            delayed = [c for c in after if c.setup_seconds > 0.1]
            first_standby = min(
                (c.answer for c in run.calls if c.pbx == "samu-30-b"), default=float("nan")
            )
            records = lab.sync.collect_dropped()
            print(
                f"== zone loss at {rate} calls/s ({calls} calls, hold 1 s, active PBX frozen "
                f"at {seconds / 2:g} s)"
            )
            print(f"set-ups failed: {run.failed_setups} of {calls}")
            print(
                f"set-ups delayed > 100 ms: {len(delayed)}, max set-up "
                f"{max((c.setup_seconds for c in after), default=0) * 1000:.0f} ms; "
                f"first answer by the standby {(first_standby - lost_at) * 1000:.0f} ms after "
                "the loss"
            )
            print(
                f"answered calls dropped with the lost PBX: {len(run.dropped)}; "
                f"recorded for call-back: {len(records)}"
            )
        finally:
            lab.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--start-rate", type=int, default=100)
    parser.add_argument("--max-rate", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--loss-rate", type=int, default=100)
    parser.add_argument("--cpu-rate", type=int, default=200)
    parser.add_argument("--cpu-runs", type=int, default=3)
    parser.add_argument(
        "--ladders",
        type=int,
        default=5,
        help="rate ladders to run (each ~3 min; default 5): one ladder's ratio ranges from "
        "0.7 to 1.2 on this shared machine, the median of several is the figure",
    )
    parser.add_argument(
        "--children",
        type=int,
        default=4,
        help="Kamailio's UDP workers for both configs (default 4, as in the tests; the chart runs 8)",
    )
    parser.add_argument(
        "--edge-cfg",
        type=Path,
        default=EDGE_CFG,
        help="the edge config to measure (default: the chart's), e.g. a variant under study",
    )
    parser.add_argument(
        "--kamailio-cpu",
        type=float,
        default=0.15,
        help="share of one CPU each Kamailio may use (default 0.15)",
    )
    args = parser.parse_args()
    missing = missing_binaries()
    if missing:
        print(f"cannot run: {', '.join(missing)} not installed (make debs)", file=sys.stderr)
        return 2
    bench_rates(args)
    bench_zone_loss(args.loss_rate, 6.0)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
