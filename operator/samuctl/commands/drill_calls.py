"""samuctl drill --calls N [--kill PART]: real calls through the edge on loopback, one part
killed mid-call, every recording read back from the store (samu_lab.calldrill)."""

import argparse
import sys
from pathlib import Path

from samu_lab.callscore import KILLS
from samuctl.commands.output import print_data


def add_arguments(drill: argparse.ArgumentParser) -> None:
    calls = drill.add_argument_group(
        "call drill",
        "With --calls: real calls on 127.0.0.1 (Kamailio with the edge chart's config, "
        "rtpengine, SIPp callers sending G.711 marker audio, PBX stand-ins recording their copy, "
        "the recording shipper for both copies, a real Swift); --kill one part mid-call; each "
        "answered call's copies are then read back from the store. Exit 1 if a recording was "
        "lost or lacks audio (more than 2 s with --kill edge), 2 if the lab cannot run here.",
    )
    calls.add_argument("--calls", type=int, default=0, metavar="N", help="calls to place")
    calls.add_argument(
        "--kill",
        choices=KILLS,
        default="none",
        help="part to kill mid-call: the active PBX, the edge pod, the edge's shipper "
        "(restarted 2 s later) or a Swift object server (default none)",
    )
    calls.add_argument(
        "--hold", type=int, default=10, metavar="S", help="seconds each call lasts (default 10)"
    )
    calls.add_argument(
        "--rate", type=int, default=0, metavar="CPS", help="calls per second (default min(N, 40))"
    )
    calls.add_argument(
        "--keep",
        type=Path,
        default=None,
        metavar="DIR",
        help="keep the lab's files (logs, spools) in a new directory under DIR",
    )


def run(args: argparse.Namespace) -> int:
    from samu_lab.calldrill import run_call_drill
    from samu_lab.procs import LabError
    from samuctl.progress import Progress

    if args.kill != "none" and not args.calls:
        print("samuctl drill: --kill needs --calls N (the call drill)", file=sys.stderr)
        return 2
    try:
        with Progress.for_command(args.output).ticker() as progress:
            report = run_call_drill(
                args.calls, args.kill, args.hold, args.rate, progress.update, args.keep
            )
    except (ValueError, LabError, TimeoutError) as exc:
        print(f"samuctl drill: {exc}", file=sys.stderr)
        return 2
    if args.output == "json":
        print_data(report.as_dict(), "json")
    else:
        print(report.text())
    return 0 if report.ok else 1
