"""User-space instructions per call: the full edge config next to the plain dispatcher.

bench_edge.py measures what the issue asks for, the highest zero-failure call rate of each
config, but on this shared machine one ladder's knee moves by up to 30 % from run to run.
Instructions are deterministic to about 1 %: the same calls go through each config under
valgrind's callgrind, an idle run of the same length (probes, timers) is subtracted, and the
rest is divided by the calls. plain/full is the share of the plain proxy's capacity the full
edge keeps on the same CPU (kernel time, about the same per call in both, left aside).

Run (about 4 min; valgrind is the Debian package ``valgrind``):
    .venv/bin/python tests/benchmarks/bench_edge_instructions.py [--calls 1000] [--rate 50]
        [--window 35] [--edge-cfg PATH]
"""

import argparse
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from samu_operator.core.routing import build_routing
from samu_operator.edge.files import write_atomic
from tests.benchmarks.bench_edge import PLAIN_CFG
from tests.edge.conftest import tenant_doc
from tests.edge.harness import EDGE_CFG, Caller, Kamailio, Pbx, Rtpengine, missing_binaries

#: Under valgrind Kamailio runs ~50 times slower: timers that must not fire on a slow answer.
SLOW_DEFINES = {"EDGE_PROBE_THRESHOLD": "2", "EDGE_FR_TIMER": "5000"}


@dataclass
class CallgrindKamailio(Kamailio):
    """The harness's Kamailio, every process of it under callgrind (one output file each)."""

    out: Path = Path()

    def command(self) -> list[str]:
        return [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={self.out}/callgrind.%p",
            *super().command(),
        ]


def instructions(out: Path) -> int:
    """Total instructions of all of Kamailio's processes (each file's ``totals:`` line)."""
    total = 0
    for path in out.glob("callgrind.*"):
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith(("totals:", "summary:")):
                total += int(line.split()[1])
                break
    return total


def one_run(config: str, cfg: Path, calls: int, args: argparse.Namespace, work: Path) -> int:
    """Instructions of one Kamailio run of ``args.window`` seconds carrying ``calls`` calls."""
    work.mkdir(parents=True)
    pbx = {zone: Pbx(f"samu-30-{zone}", work).start() for zone in ("a", "b")}
    # both configs anchor every call's media on the same kind of rtpengine (see
    # plain_dispatcher.cfg): the figures compare their routing logic
    rtpengine = Rtpengine(work / "rtpengine").start()
    try:
        tables = work / "tables"
        tables.mkdir()
        if config == "plain":
            write_atomic(
                tables / "dispatcher.list", f"30 {pbx['a'].uri} 0 100\n30 {pbx['b'].uri} 0 90\n"
            )
            write_atomic(tables / "routing", "")
            plain = work / "plain.cfg"
            plain.write_text(PLAIN_CFG)
            cfg, number = plain, "15"
        else:
            docs = [
                tenant_doc("30", numbers=["+33466000015"], partner="samu-34"),
                tenant_doc("34", numbers=["+33467000015"], partner="samu-30"),
            ]
            addresses = {
                f"{doc['metadata']['name']}/{zone}": p.uri
                for doc in docs
                for zone, p in pbx.items()
            }
            table = build_routing(docs, addresses=addresses)
            write_atomic(tables / "dispatcher.list", table.dispatcher_list())
            write_atomic(tables / "routing", table.routing_map())
            number = "+33466000015"
        out = work / "callgrind"
        out.mkdir()
        defines = {**SLOW_DEFINES, "EDGE_RTPENGINE_SOCK": f'"{rtpengine.sock}"'}
        edge = CallgrindKamailio(work, cfg=cfg, defines=defines, out=out)
        edge.start(timeout=120)
        try:
            time.sleep(2)
            started = time.monotonic()
            if calls:
                run = Caller(edge, work, number=number, name="cg").start(args.rate, calls, 100)
                failed = run.wait(timeout=300).failed_setups
                if failed:
                    print(f"  ({config}: {failed} of {calls} set-ups failed under valgrind)")
            time.sleep(max(0.0, args.window - (time.monotonic() - started)))
        finally:
            edge.stop()
        return instructions(out)
    finally:
        rtpengine.stop()
        for p in pbx.values():
            p.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls per measured run")
    parser.add_argument("--rate", type=int, default=50, help="calls per second")
    parser.add_argument("--window", type=float, default=35.0, help="seconds of each run")
    parser.add_argument("--edge-cfg", type=Path, default=EDGE_CFG, help="full edge config")
    args = parser.parse_args()
    missing = missing_binaries() or ([] if shutil.which("valgrind") else ["valgrind"])
    if missing:
        print(f"missing: {', '.join(missing)} (apt-get install kamailio sip-tester valgrind)")
        return 2
    if args.calls / args.rate > args.window - 5:
        parser.error(f"--window {args.window} is too short for {args.calls} calls at {args.rate}/s")
    per_call: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="instructions-edge-") as tmp:
        for config in ("full", "plain"):
            idle = one_run(config, args.edge_cfg, 0, args, Path(tmp) / f"{config}-idle")
            busy = one_run(config, args.edge_cfg, args.calls, args, Path(tmp) / f"{config}-busy")
            per_call[config] = (busy - idle) / args.calls
            print(f"{config}: {per_call[config] / 1000:.1f}k instructions per call")
    ratio = per_call["plain"] / per_call["full"]
    print(f"plain/full: {ratio:.2f} (the share of the plain proxy's capacity the full edge keeps)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
