"""Benchmark of the offline plan (`samuctl plan`): wall time and peak memory.

Run from the repository root:  .venv/bin/python tests/benchmarks/bench_plan.py [--repeat N]

Each case runs in its own process (so max RSS is that case's own): the stack is loaded,
then the whole plan (program under mocks + guardrails + JSON + SVG) runs N times; the first
run is reported apart (cold: first registrations, lazy imports). A last run under
tracemalloc gives the peak of Python allocations. Goal: prod plan <= 3 s on this machine.
"""

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CASES = {"prod": 1, "prod-x4": 4}


def run_case(name: str, repeat: int) -> dict:
    sys.path.insert(0, str(REPO))
    t0 = time.perf_counter()
    from samu_infra.runner import plan
    from samu_infra.stackfile import load_stack_file
    from tests.infra.stackgen import scaled_prod, write

    import_s = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        path = write(scaled_prod(CASES[name]), Path(tmp), name)
        cfg = load_stack_file(path)
        times, count = [], 0
        for _ in range(repeat):
            start = time.perf_counter()
            result = plan(cfg, name, Path(tmp) / "out", project_root=REPO)
            times.append(time.perf_counter() - start)
            count = result.doc["resourceCount"]
            assert result.passed, "guardrails failed on the benchmark stack"
        tracemalloc.start()
        plan(cfg, name, Path(tmp) / "out", project_root=REPO)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        instances = result.doc["byType"].get("openstack:compute/instance:Instance", 0)
    return {
        "case": name,
        "resources": count,
        "instances": instances,
        "import_s": round(import_s, 3),
        "first_s": round(times[0], 3),
        "median_s": round(statistics.median(times[1:] or times), 3),
        "ms_per_resource": round(1000 * statistics.median(times[1:] or times) / count, 2),
        "peak_python_mib": round(peak / 2**20, 1),
        "max_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--case", choices=sorted(CASES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        print(json.dumps(run_case(args.case, args.repeat)))
        return 0
    print(
        f"{'case':<8} {'resources':>9} {'instances':>9} {'import s':>8} {'first s':>8} "
        f"{'median s':>8} {'ms/res':>7} {'peak py MiB':>11} {'max RSS MiB':>11}"
    )
    for case in CASES:
        proc = subprocess.run(
            [sys.executable, __file__, "--case", case, "--repeat", str(args.repeat)],
            capture_output=True,
            text=True,
            check=True,
            cwd=REPO,
        )
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        print(
            f"{r['case']:<8} {r['resources']:>9} {r['instances']:>9} {r['import_s']:>8} "
            f"{r['first_s']:>8} {r['median_s']:>8} {r['ms_per_resource']:>7} "
            f"{r['peak_python_mib']:>11} {r['max_rss_mib']:>11}"
        )
    print("goal: prod plan <= 3 s (first run, program + guardrails + JSON + SVG)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
