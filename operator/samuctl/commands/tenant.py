"""samuctl tenant ...: check SamuTenant files before they reach a cluster."""

import argparse
import sys

from samuctl.commands.output import add_output_flag, print_data


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    tenant = subparsers.add_parser("tenant", help="SamuTenant resources (one per call centre)")
    verbs = tenant.add_subparsers(dest="verb", metavar="VERB", required=True)

    validate = verbs.add_parser(
        "validate",
        help="check SamuTenant files; exit 1 naming every error by file and field",
        description="Validate SamuTenant YAML files (several documents per file allowed). "
        "Exit 0 when all are valid, 1 otherwise, with each error named by file and field.",
    )
    validate.add_argument("files", nargs="+", metavar="FILE", help="SamuTenant YAML file(s)")
    add_output_flag(validate)
    validate.set_defaults(func=_validate)


def _validate(args: argparse.Namespace) -> int:
    from samu_operator.tenantfiles import check_files

    results = check_files(args.files)
    if args.output == "json":
        print_data([r.as_dict() for r in results], "json")
    else:
        for r in results:
            if r.errors:
                for error in r.errors:
                    print(f"{r.source}: {error}", file=sys.stderr)
            else:
                print(f"{r.source}: ok  {r.summary}")
        bad = sum(1 for r in results if r.errors)
        print(f"{len(results) - bad} valid, {bad} invalid", file=sys.stderr if bad else sys.stdout)
    return 1 if any(r.errors for r in results) else 0
