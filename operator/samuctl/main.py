"""Entry point: builds the parser from the command modules and dispatches.

Thin on purpose: each command module parses its own arguments and imports its library
code lazily inside its handler, so `samuctl --help` stays fast. Whatever goes wrong ends
in one line on stderr and an exit code (docs/samuctl.md), never a traceback
(``SAMUCTL_DEBUG=1`` shows it for a bug report).
"""

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

#: Command modules; each has ``register(subparsers)`` that adds its parser and sets ``func``.
COMMANDS: tuple[str, ...] = (
    "samuctl.commands.tenant",
    "samuctl.commands.crd",
    "samuctl.commands.plan",
    "samuctl.commands.drill",
    "samuctl.commands.edge",
    "samuctl.commands.bascule",
    "samuctl.commands.recordings",
    "samuctl.commands.completion",
)

#: Exit codes shared by every command (each command's help lists its own 0/1/2 meanings).
EXIT_INTERRUPTED = 130
EXIT_PIPE_CLOSED = 141  # as a shell reports a process ended by SIGPIPE
EXIT_INTERNAL = 70  # EX_SOFTWARE: a bug in samuctl, not in the input


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("samu-platform")
    except PackageNotFoundError:  # running from a source tree without an install
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="samuctl",
        description="samu-platform: SAMU-Centre 15 telephony tenants, infrastructure and drills.",
        epilog="Exit codes: 0 ok, 1 the input is wrong (errors listed), 2 the command line or "
        "an input/output cannot be used, 130 interrupted, 141 output closed early.",
    )
    parser.add_argument("--version", action="version", version=f"samuctl {version()}")
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
        print("samuctl: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # `samuctl ... | head`: the reader is gone. Point stdout at /dev/null so that the
        # interpreter's final flush does not fail again, and say it once.
        _silence_stdout()
        print("samuctl: output closed early by the reader (e.g. | head)", file=sys.stderr)
        return EXIT_PIPE_CLOSED
    except Exception as exc:
        from samu_operator.inputs.yamlfiles import InputError

        if isinstance(exc, InputError):
            print(str(exc), file=sys.stderr)
            return 2
        if os.environ.get("SAMUCTL_DEBUG"):
            raise
        if isinstance(exc, OSError):
            where = f"{exc.filename}: " if exc.filename else ""
            print(f"samuctl: {where}{exc.strerror or exc}: check the path", file=sys.stderr)
            return 2
        print(
            f"samuctl: internal error ({type(exc).__name__}: {exc}); "
            "rerun with SAMUCTL_DEBUG=1 and report it",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (a test's capture)
        pass
