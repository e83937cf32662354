"""Entry point: builds the parser from the command modules and dispatches.

Thin on purpose: each command module parses its own arguments and imports its library
code lazily inside its handler, so `samuctl --help` stays fast.
"""

import argparse
import importlib
import sys
from collections.abc import Sequence

#: Command modules; each has ``register(subparsers)`` that adds its parser and sets ``func``.
COMMANDS: tuple[str, ...] = (
    "samuctl.commands.tenant",
    "samuctl.commands.crd",
    "samuctl.commands.plan",
    "samuctl.commands.drill",
    "samuctl.commands.edge",
    "samuctl.commands.recordings",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="samuctl",
        description="samu-platform: SAMU-Centre 15 telephony tenants, infrastructure and drills.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
