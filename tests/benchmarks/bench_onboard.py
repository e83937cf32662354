"""Benchmark: N SamuTenants applied at once -> seconds until all are Ready, operator peak RSS.

    .venv/bin/python tests/benchmarks/bench_onboard.py [--tenants 100]

The emulated cluster (kmock emulator + simulated kubelet that makes PBX pods ready) runs in
this process; the operator runs as its own process (``kopf run -m samu_operator.handlers``)
so that its peak RSS (VmHWM) is its own. Goal on the project machine: <= 10 s, <= 150 MB.
"""

import argparse
import asyncio
import copy
import os
import sys
import time
from pathlib import Path

import yaml

from samu_operator.model.tenant import API_GROUP, API_VERSION, PLURAL
from samu_operator.sim.kubelet import EmulatedCluster
from samu_operator.sim.operator_process import OperatorProcess

REPO = Path(__file__).resolve().parents[2]
TENANTS = f"{API_GROUP}/{API_VERSION}/{PLURAL}"


def departments(n: int) -> list[str]:
    codes = [f"{i:02d}" for i in range(1, 96) if i != 20] + ["2A", "2B"]
    codes += [str(i) for i in range(971, 977)]
    return codes[:n]


EXAMPLE = REPO / "helm/samu-operator/examples/samu-30.yaml"


def example_zones() -> tuple[str, ...]:
    """The zones the example tenant names: the emulated cluster gets its nodes there, so that
    renaming the example's zones cannot leave every tenant failing with ZoneNotFound."""
    return tuple(yaml.safe_load(EXAMPLE.read_text())["spec"]["pbx"]["zones"])


def tenant_docs(n: int) -> list[dict]:
    base = yaml.safe_load(EXAMPLE.read_text())
    docs = []
    for i, dept in enumerate(departments(n)):
        doc = copy.deepcopy(base)
        doc["metadata"] = {"name": f"samu-{dept.lower()}"}
        doc["spec"]["department"] = dept
        doc["spec"]["displayName"] = f"SAMU {dept}"
        if i % 2 and i > 0:  # every other tenant overflows to the previous one
            doc["spec"]["overflow"] = {
                "partner": f"samu-{departments(n)[i - 1].lower()}",
                "afterSeconds": 30,
            }
        else:
            doc["spec"].pop("overflow", None)
        docs.append(doc)
    return docs


def applied_and_running(status: dict) -> bool:
    """The onboarding part's own verdict: objects applied and every zone's PBX ready."""
    conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
    pbx = status.get("pbx") or []
    return conditions.get("Reconciled") == "True" and bool(pbx) and all(p.get("ready") for p in pbx)


async def run(n: int, timeout: float) -> int:
    async with EmulatedCluster(zones=example_zones(), nodes_per_zone=2) as cluster:
        log_path = os.environ.get("SAMU_BENCH_OPERATOR_LOG")  # debugging: the operator's log
        log = Path(log_path) if log_path else None
        op = OperatorProcess(cluster.url, log=log, verbose=log is not None)
        op.start()
        try:
            # Ready to work: the operator watches SamuTenants.
            while not any(
                r.resource is not None and r.resource.plural == PLURAL and r.params.get("watch")
                for r in cluster.emulator.requests_log
            ):
                if not op.running:
                    print("operator exited early", file=sys.stderr)
                    return 1
                await asyncio.sleep(0.05)
            rss_idle = op.peak_rss_mb()
            docs = tenant_docs(n)
            started = time.monotonic()
            for doc in docs:
                await cluster.emulator.put(TENANTS, doc)
            applied = time.monotonic() - started
            names = [d["metadata"]["name"] for d in docs]
            onboarded_at = None
            while True:
                statuses = [
                    (cluster.emulator.read(TENANTS, None, name) or {}).get("status") or {}
                    for name in names
                ]
                ready = sum(1 for st in statuses if st.get("phase") == "Ready")
                onboarded = sum(1 for st in statuses if applied_and_running(st))
                elapsed = time.monotonic() - started
                if onboarded == n and onboarded_at is None:
                    onboarded_at = elapsed
                if ready == n or elapsed > timeout:
                    break
                await asyncio.sleep(0.05)
            rss = op.peak_rss_mb()
            op_cpu = op.cpu_seconds()
            calls = cluster.emulator.api_calls()
            print(f"tenants applied at once:        {n} (in {applied:.2f} s)")
            print(f"all Ready after:                {elapsed:.2f} s ({ready}/{n} Ready)")
            print(
                "all applied, every PBX ready:   "
                + (
                    f"{onboarded_at:.2f} s"
                    if onboarded_at is not None
                    else f"not reached ({onboarded}/{n})"
                )
                + " (Reconciled=True and status.pbx all ready, whatever the failover part says)"
            )
            print(
                f"operator peak RSS (VmHWM):      {rss:.1f} MB (idle before the apply: {rss_idle:.1f} MB)"
            )
            print(f"operator API requests:          {sum(calls.values())}")
            if os.environ.get("SAMU_BENCH_CALLS"):
                for (verb, res, scope), count in calls.most_common(25):
                    print(f"    {count:6d} {verb} {res} ({scope})")
            print(f"objects in the emulator:        {len(cluster.emulator.objects)}")
            print(f"CPU seconds: operator {op_cpu:.1f}, emulator+kubelet {time.process_time():.1f}")
            print(
                f"goal:                           <= 10 s, <= 150 MB -> {'met' if ready == n and elapsed <= 10 and rss <= 150 else 'NOT met'}"
            )
            if ready < n:
                stuck = next(
                    (cluster.emulator.read(TENANTS, None, name) or {}).get("status")
                    for name in names
                    if ((cluster.emulator.read(TENANTS, None, name) or {}).get("status") or {}).get(
                        "phase"
                    )
                    != "Ready"
                )
                print(f"a tenant not Ready: {stuck}", file=sys.stderr)
            return 0 if ready == n else 1
        finally:
            if not await op.stop():
                print("the operator did not stop by itself: killed", file=sys.stderr)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=100)
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args()
    return asyncio.run(run(args.tenants, args.timeout))


if __name__ == "__main__":
    sys.exit(main())
