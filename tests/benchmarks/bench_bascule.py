"""Benchmark of a bascule flip at the real edge (Kamailio on 127.0.0.1, no call placed).

The 100-SAMU table of bench_edge.py, ten of them with an old platform (legacy trunks, mode
legacy). Prints the time of:
1. one flip of one SAMU (legacy -> platform): render, write the routing map (the only file
   that changes), ``htable.reload`` — the edge's own part, measured as EdgeSync.apply does;
2. the ten flipped at once (one write, one reload) and one by one;
3. for scale, a PBX failover's reload of the same table (bench_edge.py's: dispatcher list +
   routing map, ``dispatcher.reload`` + ``htable.reload``).
and checks after each flip that Kamailio itself routes the flipped numbers to the new set
(``htable.get``).

Run: .venv/bin/python tests/benchmarks/bench_bascule.py [--runs 10]
"""

import argparse
import copy
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from samu_operator.bascule.plan import flipped
from samu_operator.core.routing import LEGACY_FIRST, PLATFORM_FIRST, set_id_for
from tests.benchmarks.bench_edge import bench_reload, hundred_samu
from tests.edge.conftest import Lab
from tests.edge.harness import missing_binaries


def with_old_platform(docs: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """The first ``count`` tenants in legacy mode with an old platform."""
    out = copy.deepcopy(docs)
    for doc in out[:count]:
        doc["spec"]["routing"] = {
            "mode": "legacy",
            "legacy": {"trunks": ["sip:127.0.0.1:5999;transport=tls"]},
            "fallbacks": ["platform", "legacy", "partner", "secours"],
            "secours": [{"number": "+33466000099"}],
        }
    return out


def entry_at_edge(lab: Lab, number: str) -> int:
    return int(lab.edge.rpc.call("htable.get", "routing", f"n{number}")["item"]["value"])


RELOADS: list[float] = []


def timed_apply(lab: Lab, docs: list[dict[str, Any]]) -> tuple[float, bool]:
    """(seconds of render + write + reload, whether the dispatcher list was rewritten); the
    reload's own seconds (RPC round trip, as EdgeSync measures it) go to RELOADS."""
    before = lab.edge.files.dispatcher.stat().st_mtime_ns
    start = time.perf_counter()
    result = lab.sync.apply(docs)
    seconds = time.perf_counter() - start
    RELOADS.append(result.reload_seconds)
    return seconds, lab.edge.files.dispatcher.stat().st_mtime_ns != before


def report(
    args: argparse.Namespace,
    one: list[float],
    at_once: list[float],
    by_one: list[float],
    rewrote: int,
) -> None:
    def ms(values: list[float]) -> str:
        return f"median {statistics.median(values) * 1000:.1f} ms, max {max(values) * 1000:.1f} ms"

    print(f"== bascule flips on the 100-SAMU table (10 with an old platform), {args.runs} runs")
    print(f"one SAMU flipped (render + routing map + htable.reload): {ms(one)}")
    print(f"ten SAMU flipped at once (one write, one reload): {ms(at_once)}")
    print(f"ten SAMU flipped one by one (ten writes, ten reloads), whole wave: {ms(by_one)}")
    print(f"of which the edge's reload (htable.reload over JSON-RPC): {ms(RELOADS)}")
    print(f"dispatcher list rewritten by a flip: {rewrote} times (0 expected)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="flips per figure (default 10)")
    args = parser.parse_args()
    missing = missing_binaries()
    if missing:
        print(f"cannot run: {', '.join(missing)} not installed (make debs)")
        return 2
    with tempfile.TemporaryDirectory(prefix="bench-bascule-") as tmp:
        lab = Lab(Path(tmp))
        try:
            lab.add_pbx("samu-30", "a")
            docs = with_old_platform(hundred_samu(), 10)
            for doc in docs:
                for zone in ("a", "b"):
                    lab.addresses[f"{doc['metadata']['name']}/{zone}"] = lab.pbx["samu-30/a"].uri
            lab.start(docs)
            wave = [d["metadata"]["name"] for d in docs[:10]]
            numbers = {d["metadata"]["name"]: d["spec"]["numbers"][0] for d in docs[:10]}
            sets = {d["metadata"]["name"]: set_id_for(d["spec"]["department"]) for d in docs}
            one, at_once, by_one, rewrote = [], [], [], 0
            for _ in range(args.runs):
                for mode, entry in (("platform", PLATFORM_FIRST), ("legacy", LEGACY_FIRST)):
                    seconds, dispatcher = timed_apply(lab, flipped(docs, {wave[0]}, mode))
                    one.append(seconds)
                    rewrote += dispatcher
                    assert entry_at_edge(lab, numbers[wave[0]]) == sets[wave[0]] + entry
                for mode in ("platform", "legacy"):
                    seconds, dispatcher = timed_apply(lab, flipped(docs, set(wave), mode))
                    at_once.append(seconds)
                    rewrote += dispatcher
                start = time.perf_counter()
                for i in range(1, len(wave) + 1):
                    timed_apply(lab, flipped(docs, set(wave[:i]), "platform"))
                by_one.append(time.perf_counter() - start)
                assert all(entry_at_edge(lab, numbers[n]) == sets[n] + PLATFORM_FIRST for n in wave)
                timed_apply(lab, docs)
            report(args, one, at_once, by_one, rewrote)
            print("for scale, a failover's reload of the same table:")
            bench_reload(lab, docs)
        finally:
            lab.stop()

    return 0


if __name__ == "__main__":
    sys.exit(main())
