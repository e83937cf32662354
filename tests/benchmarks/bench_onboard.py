"""Benchmark: N SamuTenants applied at once -> seconds until all are Ready, operator peak RSS.

    .venv/bin/python tests/benchmarks/bench_onboard.py [--tenants 100]

The emulated cluster (kmock emulator + simulated kubelet that makes PBX pods ready) runs in
this process; the operator runs as its own process (``kopf run -m samu_operator.handlers``)
so that its CPU seconds and peak RSS (VmHWM) are its own. Goals on the project machine:
every tenant Ready within 5 s, at most 30 ms of operator CPU per tenant, 1.3 API requests per
object and 150 MB (the wall time only means something when the load average is low: it is
printed). ``SAMU_BENCH_CALLS=1`` adds the requests by kind.
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


def elected_ok(status: dict) -> bool:
    """The failover part elected an active PBX and the onboarding part reports it."""
    return bool(status.get("epoch")) and any(
        p.get("role") == "active" for p in status.get("pbx") or []
    )


def _seconds(value: float | None) -> str:
    return "not reached" if value is None else f"{value:.2f} s"


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
            load_before = os.getloadavg()[0]
            docs = tenant_docs(n)
            started = time.monotonic()
            for doc in docs:
                await cluster.emulator.put(TENANTS, doc)
            applied = time.monotonic() - started
            names = [d["metadata"]["name"] for d in docs]
            ready_at = elected_at = None
            at_ready: tuple[float, int] = (0.0, 0)
            while True:
                statuses = [
                    (cluster.emulator.read(TENANTS, None, name) or {}).get("status") or {}
                    for name in names
                ]
                ready = sum(1 for st in statuses if st.get("phase") == "Ready")
                elected = sum(1 for st in statuses if st.get("phase") == "Ready" and elected_ok(st))
                elapsed = time.monotonic() - started
                if ready == n and ready_at is None:
                    ready_at = elapsed
                    at_ready = (op.cpu_seconds(), len(cluster.emulator.requests_log))
                if elected == n and elected_at is None:
                    elected_at = elapsed
                if (ready_at is not None and elected_at is not None) or elapsed > timeout:
                    break
                await asyncio.sleep(0.05)
            # The last writes of the elections (pod labels, Services) land within a moment.
            await asyncio.sleep(1.0)
            rss = op.peak_rss_mb()
            op_cpu = op.cpu_seconds()
            calls = cluster.emulator.api_calls()
            requests = sum(calls.values())
            objects = len(cluster.emulator.objects)
            load = os.getloadavg()[0]
            print(f"load average at the start:      {load_before:.2f} (now {load:.2f})")
            print(f"tenants applied at once:        {n} (in {applied:.2f} s)")
            print(f"all Ready after:                {_seconds(ready_at)} ({ready}/{n} Ready)")
            print(f"all with an elected active:     {_seconds(elected_at)} ({elected}/{n})")
            print(
                f"operator CPU per tenant:        {1000 * op_cpu / n:.1f} ms ({op_cpu:.2f} s in all;"
                f" {1000 * at_ready[0] / n:.1f} ms when all were Ready)"
            )
            print(
                f"API requests per object:        {requests / objects:.2f} ({requests} requests,"
                f" {objects} objects; {at_ready[1]} requests when all were Ready)"
            )
            print(
                f"operator peak RSS (VmHWM):      {rss:.1f} MB (idle before the apply: {rss_idle:.1f} MB)"
            )
            if os.environ.get("SAMU_BENCH_CALLS"):
                for (verb, res, scope), count in calls.most_common(25):
                    print(f"    {count:6d} {verb} {res} ({scope})")
            print(f"emulator+kubelet CPU:           {time.process_time():.1f} s")
            goals = {
                "Ready <= 5 s": ready_at is not None and ready_at <= 5,
                "<= 30 ms CPU/tenant": 1000 * op_cpu / n <= 30,
                "<= 1.3 requests/object": requests / objects <= 1.3,
                "RSS <= 150 MB": rss <= 150,
            }
            print(
                "goals:                          "
                + ", ".join(f"{k} {'met' if v else 'NOT met'}" for k, v in goals.items())
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
