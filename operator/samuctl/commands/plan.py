"""samuctl plan: the infrastructure program evaluated offline, judged by the guardrails.

Exit codes: 0 every guardrail passes; 1 a guardrail fails (the list is printed);
2 the stack config is invalid (nothing was declared).
"""

import argparse
import os
import re
import sys
from pathlib import Path

from samuctl.commands.output import add_output_flag, print_data

DEFAULT_OUT = Path("out/plan")


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    parser = subparsers.add_parser(
        "plan",
        help="offline plan of the infrastructure (Pulumi mocks) with HA/SecNumCloud guardrails",
        description="Evaluate the Pulumi program offline under mocks (preview mode): print what "
        "would be created per zone, write a JSON plan and an SVG topology, check the "
        "guardrails. Exit 0 when they pass, 1 when one fails, 2 on an invalid stack config. "
        "Provider-side validation needs a real `pulumi preview`.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack", help="stack name: reads stacks/Pulumi.<stack>.yaml")
    source.add_argument(
        "--config-file", type=Path, metavar="PATH", help="any stack file (Pulumi.<name>.yaml)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"directory for the plan (default: {DEFAULT_OUT})",
    )
    parser.add_argument(
        "--project-root",
        type=Path,
        default=Path("."),
        help="directory holding stacks/ and helm/ (default: the current directory)",
    )
    parser.add_argument(
        "--swift-capabilities",
        type=Path,
        metavar="FILE",
        help="JSON of the provider's Swift /info ('swift capabilities --json'): refuse the "
        "stack (exit 2) unless recordings.storagePolicy is one of its published policies",
    )
    add_output_flag(parser)
    parser.set_defaults(func=_plan)


def _store_policy_refused(path: Path, cfg: object) -> bool:
    """True (after printing why) when the Swift capabilities do not publish the policy."""
    import json

    from samu_infra.stackfile import PREFIX
    from samu_infra.store_policy import policy_issues

    try:
        capabilities = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"--swift-capabilities {path}: not a readable JSON file ({exc})", file=sys.stderr)
        return True
    issues = policy_issues(capabilities, cfg)  # type: ignore[arg-type]
    for key, message in issues:
        print(f"{PREFIX}{key}: {message}", file=sys.stderr)
    return bool(issues)


def _stack_name(path: Path) -> str:
    name = path.name
    if name.startswith("Pulumi.") and name.endswith(".yaml"):
        return name[len("Pulumi.") : -len(".yaml")]
    return path.stem


def out_dir_error(out: Path) -> str | None:
    """Why the plan cannot be written under ``out`` (checked before minutes of work), or None."""
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        return f"{existing} is a file: give a directory for the plan"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"{existing} is not writable: choose a directory you can write to"
    return None


def _plan(args: argparse.Namespace) -> int:
    from samu_infra.stackfile import ConfigError, load_stack_file, stack_path

    if args.stack is not None and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", args.stack):
        print(
            f"--stack {args.stack!r}: a stack name is letters, digits, '-', '_', '.'",
            file=sys.stderr,
        )
        return 2
    root = args.project_root.resolve()
    path = args.config_file or stack_path(root, args.stack)
    stack = args.stack or _stack_name(path)
    problem = out_dir_error(args.out)
    if problem:
        print(f"--out {args.out}: {problem}", file=sys.stderr)
        return 2
    try:
        cfg = load_stack_file(path, root)
    except ConfigError as exc:
        if len(exc.issues) == 1 and exc.issues[0].key == "(file)":  # one line for one problem
            print(f"{exc.source}: {exc.issues[0].message}", file=sys.stderr)
            return 2
        print(f"{exc.source}: invalid stack config, nothing was declared:", file=sys.stderr)
        for issue in exc.issues:
            print(f"  {issue}", file=sys.stderr)
        return 2
    if args.swift_capabilities is not None and _store_policy_refused(args.swift_capabilities, cfg):
        return 2

    from samu_infra.runner import plan
    from samuctl.progress import Progress

    with Progress.for_command(args.output).ticker() as progress:
        progress.update(
            f"planning stack {stack}: evaluating the program offline, then the guardrails"
        )
        result = plan(cfg, stack, args.out, project_root=root)
    if args.output == "json":
        print_data({k: v for k, v in result.doc.items() if k != "resources"}, "json")
    else:
        print(result.text, end="")
        print(f"plan: {result.json_path}\ntopology: {result.svg_path}")
    if not result.passed:
        failed = [g for g in result.doc["guardrails"] if not g["passed"]]
        print(f"{len(failed)} guardrail(s) failed:", file=sys.stderr)
        for g in failed:
            for violation in g["violations"]:
                print(f"  {g['rule']}: {violation}", file=sys.stderr)
        return 1
    return 0
