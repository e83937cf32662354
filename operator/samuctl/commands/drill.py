"""samuctl drill: kill a zone under N tenants and measure the failover (embedded default)."""

import argparse
import asyncio
import sys

from samuctl.commands import drill_calls
from samuctl.commands.output import add_output_flag, print_data


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    drill = subparsers.add_parser(
        "drill",
        help="zone-loss drill: emulated cluster + real operator, failover time percentiles",
        description="Start the Kubernetes emulator, a simulated kubelet and the real operator "
        "in this process (no cluster needed), onboard N tenants over the zones, kill one zone "
        "and print the failover time percentiles (zone killed -> new active PBX selected), the "
        "tenants left without a standby and the double-active count over the emulator's full "
        "object history. Exit 1 if a tenant did not fail over or two PBX were ever active.",
    )
    drill.add_argument("--tenants", type=int, default=100, help="number of tenants (default 100)")
    drill.add_argument("--zones", default="a,b,c", help="comma-separated zones (default a,b,c)")
    drill.add_argument("--kill-zone", default=None, help="zone to kill (default: the first)")
    drill.add_argument(
        "--timeout", type=float, default=120.0, help="seconds to wait for each stage (default 120)"
    )
    drill.add_argument(
        "--status",
        action="store_true",
        help="after the failover, print `samuctl tenant status` of every tenant, read from the "
        "emulated cluster's API as from a real one",
    )
    drill.add_argument(
        "--chaos",
        type=float,
        default=0.0,
        metavar="RATE",
        help="share of the API requests (0 to 1) the emulated API server answers with a fault: "
        "5xx, 409, 429 with Retry-After, latency, reset connection; watch streams closed every "
        "few seconds and some gone silent (default 0: none)",
    )
    add_output_flag(drill)
    drill_calls.add_arguments(drill)
    drill.set_defaults(func=_drill)


def _drill(args: argparse.Namespace) -> int:
    if args.calls or args.kill != "none":
        return drill_calls.run(args)
    from samu_operator.sim.drill import run_drill
    from samuctl.progress import Progress

    zones = tuple(z.strip() for z in args.zones.split(",") if z.strip())
    rows: list = []

    def read_status(url: str) -> None:
        from samu_operator import kube
        from samuctl.commands.tenant_status import read_rows

        rows.extend(read_rows(kube.Kube(kube.make_api_client(url)), None))

    try:
        with Progress.for_command(args.output).ticker() as progress:
            report = asyncio.run(
                run_drill(
                    args.tenants,
                    zones,
                    args.kill_zone,
                    args.timeout,
                    progress=progress.update,
                    inspect=read_status if args.status else None,
                    chaos=args.chaos,
                )
            )
    except (ValueError, RuntimeError) as exc:
        print(f"samuctl drill: {exc}", file=sys.stderr)
        return 2
    if args.output == "json":
        data = report.as_dict()
        if args.status:
            data["status"] = [r.as_dict() for r in rows]
        print_data(data, "json")
    else:
        print(report.text())
        if args.status:
            import datetime

            from samu_operator.core.tenant_view import render_table

            print(f"\n{render_table(rows, datetime.datetime.now(datetime.UTC))}")
    return 0 if report.ok else 1
