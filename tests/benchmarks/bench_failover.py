"""Failover benchmark: the zone-loss drill, repeated, with its figures printed.

    .venv/bin/python tests/benchmarks/bench_failover.py [--tenants 100] [--runs 3]

Each run starts its own emulator, simulated kubelet and the real operator (see
samu_operator/drill.py), kills zone a under N tenants and reports the failover time from the
kill to the new active PBX being selected. Goal on this machine: p99 <= 2 s, 0 double-active.
"""

import argparse
import asyncio
import json

from samu_operator.sim.drill import percentile, run_drill


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    every: list[float] = []
    for run in range(1, args.runs + 1):
        report = asyncio.run(run_drill(args.tenants))
        every += report.seconds
        print(f"run {run}: " + json.dumps(report.as_dict()))
    print(
        f"all runs: {len(every)} failovers, p50 {percentile(every, 50):.3f} s, "
        f"p95 {percentile(every, 95):.3f} s, p99 {percentile(every, 99):.3f} s, "
        f"max {max(every, default=0):.3f} s"
    )


if __name__ == "__main__":
    main()
