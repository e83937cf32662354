"""samuctl bascule plan|check|run|rollback --wave FILE: move a wave of SAMU from their old
platform to their PBX (and back), against a cluster or, with --rehearsal, the embedded default.

The decisions are samu_operator.bascule's (plan, checks: pure); this module reads the
arguments, picks where the tenants come from and prints.
"""

import argparse
import asyncio
import logging
import sys
from pathlib import Path
from typing import Any

from samuctl.commands.output import add_output_flag, print_data

VERBS = {
    "plan": "what the wave changes, per SAMU (nothing written)",
    "check": "the preflight checks of every SAMU of the wave, each with its verdict",
    "run": "check and flip the wave to the platform, stop at the first failed check",
    "rollback": "flip the wave back to the old platform (reverse order)",
}


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    bascule = subparsers.add_parser(
        "bascule",
        help="move a wave of SAMU from their old platform to their PBX: plan, check, run, rollback",
        description="A wave file names the SAMU that move together (wave, strategy "
        "one-by-one|all-at-once, tenants in order). A flip sets spec.routing.mode: new calls "
        "go to the other side, calls in progress stay where they are. Runbook: "
        "docs/bascule.md.",
    )
    verbs = bascule.add_subparsers(dest="verb", metavar="VERB", required=True)
    for verb, text in VERBS.items():
        parser = verbs.add_parser(verb, help=text, description=_description(verb))
        parser.add_argument("--wave", required=True, metavar="FILE", help="the wave file")
        where = parser.add_argument_group("where the tenants are (default: your kubeconfig)")
        where.add_argument(
            "--rehearsal",
            action="store_true",
            help="the embedded default: emulated cluster + real operator in this process",
        )
        if verb in ("plan", "check"):
            where.add_argument(
                "--tenants",
                nargs="+",
                metavar="FILE",
                help="SamuTenant files (e.g. kubectl get samu -o yaml) instead of an API; "
                "with --rehearsal: the tenants to onboard there",
            )
        else:
            where.add_argument(
                "--tenants",
                nargs="+",
                metavar="FILE",
                help="with --rehearsal: the tenants to onboard there (default: small ones "
                "named after the wave's entries)",
            )
        where.add_argument("--server", metavar="URL", help="plain-http API server (emulator)")
        where.add_argument("--kubeconfig", metavar="PATH", help="default: $KUBECONFIG")
        where.add_argument("--context", help="kubeconfig context (default: the current one)")
        if verb != "plan":
            parser.add_argument(
                "--edge-rpc",
                action="append",
                default=[],
                metavar="URL",
                help="an edge pod's JSON-RPC URL (http://<pod>:8080/RPC, e.g. through kubectl "
                "port-forward); repeat per pod: its probes answer the edge checks and, on "
                "run/rollback, it is asked until it routes the new mode",
            )
            parser.add_argument(
                "--accept-unchecked",
                default="",
                metavar="CHECK,...",
                help="go on past these checks when they cannot be answered (never past a "
                "failed one); the report lists them",
            )
            parser.add_argument(
                "--timeout",
                type=float,
                default=30.0,
                help="seconds to wait for each SAMU's flip to be acknowledged (default 30)",
            )
        if verb in ("run", "rollback"):
            parser.add_argument(
                "--yes",
                action="store_true",
                help="really flip on the cluster of your kubeconfig (not needed with --rehearsal)",
            )
        add_output_flag(parser)
        parser.set_defaults(func=_bascule)


def _description(verb: str) -> str:
    exits = {
        "plan": "Exit 0 with a plan, 1 if the wave names a tenant that does not exist or "
        "has no old platform, 2 if the wave file or the API cannot be used.",
        "check": "Exit 0 if every check passes (or is waived), 1 if one fails or cannot be "
        "answered, 2 if the wave file or the API cannot be used.",
        "run": "Exit 0 when the whole wave is flipped, 1 when it stopped (the SAMU and the "
        "check named), 2 if the wave file or the API cannot be used.",
        "rollback": "Exit 0 when the whole wave is back on its old platform, 1 when it "
        "stopped, 2 if the wave file or the API cannot be used.",
    }
    return f"{VERBS[verb][0].upper()}{VERBS[verb][1:]}. {exits[verb]}"


def _bascule(args: argparse.Namespace) -> int:
    from samu_operator.bascule.runner import WaveRefused
    from samu_operator.bascule.wave import WaveInvalid, load_wave
    from samu_operator.core.routing import RoutingError
    from samu_operator.inputs.yamlfiles import InputError

    logging.getLogger("urllib3").setLevel(logging.ERROR)
    command = f"samuctl bascule {args.verb}"
    try:
        wave = load_wave(Path(args.wave))
    except (InputError, WaveInvalid) as exc:
        print(str(exc), file=sys.stderr)
        return 2
    waived = frozenset(c.strip() for c in getattr(args, "accept_unchecked", "").split(",") if c)
    unknown = _unknown_checks(waived, args.verb)
    if unknown:
        print(f"--accept-unchecked: {unknown}", file=sys.stderr)
        return 2
    if args.verb in ("run", "rollback") and not args.rehearsal and not args.yes:
        print(
            f"{command}: this flips the SAMU of {args.wave} on the cluster of your kubeconfig"
            f"{' context ' + args.context if args.context else ''}: add --yes to do it, or "
            "--rehearsal to rehearse it",
            file=sys.stderr,
        )
        return 2
    if args.verb in ("run", "rollback") and args.tenants and not args.rehearsal:
        print(
            f"{command}: --tenants only with --rehearsal: a run flips the tenants of an API",
            file=sys.stderr,
        )
        return 2
    if args.rehearsal and (args.server or args.kubeconfig or args.context):
        print(
            f"{command}: --rehearsal runs its own cluster: drop --server/--kubeconfig/--context",
            file=sys.stderr,
        )
        return 2
    try:
        result = _dispatch(args, wave, waived, command)
    except WaveRefused as exc:
        for error in exc.plan.errors:
            print(f"{args.wave}: {error}", file=sys.stderr)
        return 1
    except RoutingError as exc:
        print(f"{command}: the tenants cannot be routed: {exc}", file=sys.stderr)
        return 1
    except _Unusable as exc:
        print(f"{command}: {exc}", file=sys.stderr)
        return 2
    return _show(args, result)


class _Unusable(Exception):
    """The tenants cannot be read (no API, no kubeconfig, bad files): exit 2."""


def _unknown_checks(waived: frozenset[str], verb: str) -> str:
    from samu_operator.bascule.checks import CHECKS, NOT_YET

    if verb == "plan":
        return ""
    direction = "rollback" if verb == "rollback" else "run"
    known = {c for c, source in CHECKS[direction] if source != "api" or c in NOT_YET}
    bad = sorted(waived - known)
    if not bad:
        return ""
    return (
        f"{', '.join(bad)}: not a check that can be waived for {verb}; use "
        f"{', '.join(sorted(known))} (the API's own checks are never waived)"
    )


def _dispatch(args: argparse.Namespace, wave: Any, waived: frozenset[str], command: str) -> Any:
    direction = "rollback" if args.verb == "rollback" else "run"
    action = {"plan": "plan", "check": "check"}.get(args.verb, "run")
    if args.rehearsal:
        return _rehearse(args, wave, waived, direction, action)
    runner = _runner(args, waived)
    try:
        if action == "plan":
            return runner.plan(wave, direction)
        if action == "check":
            return runner.check(wave, direction)
        from samuctl.progress import Progress

        with Progress.for_command(args.output).ticker() as progress:
            runner.say = _sayer(args, progress)
            return runner.run(wave, direction)
    except _api_errors() as exc:
        raise _Unusable(_api_message(runner, exc)) from None


def _rehearse(
    args: argparse.Namespace, wave: Any, waived: frozenset[str], direction: str, action: str
) -> Any:
    from samu_operator.sim.bascule_rehearsal import rehearse
    from samuctl.progress import Progress

    tenants = _files(args.tenants) if args.tenants else None
    with Progress.for_command(args.output).ticker() as progress:
        try:
            return asyncio.run(
                rehearse(
                    wave,
                    direction,
                    tenants=tenants,
                    waived=waived,
                    timeout=max(getattr(args, "timeout", 30.0), 30.0),
                    say=_sayer(args, progress),
                    action=action,
                )
            )
        except RuntimeError as exc:
            raise _Unusable(f"rehearsal: {exc}") from None


def _sayer(args: argparse.Namespace, progress: Any) -> Any:
    """Each step on its own line on stderr (a migration night's log), the ticker between."""

    def say(text: str) -> None:
        if args.output != "text":
            return
        if text.startswith("rehearsal:"):
            progress.update(text)
            return
        if progress.enabled:
            progress.stream.write("\r\033[K")
        print(text, file=sys.stderr, flush=True)

    return say


def _runner(args: argparse.Namespace, waived: frozenset[str]) -> Any:
    from samu_operator.bascule.runner import Runner

    edges = getattr(args, "edge_rpc", [])
    timeout = getattr(args, "timeout", 30.0)
    if args.tenants:
        docs = _files(args.tenants)
        return Runner(_Static(docs), f"the files {' '.join(args.tenants)}", edges, waived, timeout)
    from samuctl.commands.tenant_status import ApiUnreachable, _client

    try:
        client = _client(args)
    except ApiUnreachable as exc:
        raise _Unusable(str(exc)) from None
    host = getattr(getattr(client.api, "configuration", None), "host", "the cluster")
    target = f"context {args.context}" if args.context else host
    return Runner(client, target, edges, waived, timeout)


class _Static:
    """Tenants read from files: the runner's plan and checks over them (no write)."""

    def __init__(self, docs: list[dict[str, Any]]) -> None:
        self.docs = docs

    def list(self, *_: Any) -> list[dict[str, Any]]:
        return self.docs


def _files(paths: list[str]) -> list[dict[str, Any]]:
    from samu_operator.inputs.tenantfiles import load_documents
    from samu_operator.inputs.yamlfiles import InputError

    docs: list[dict[str, Any]] = []
    for name in paths:
        try:
            loaded = load_documents(Path(name))
        except InputError as exc:
            raise _Unusable(str(exc)) from None
        for _, doc in loaded:
            if isinstance(doc, dict) and doc.get("kind") == "List":
                docs += [d for d in doc.get("items") or [] if isinstance(d, dict)]
            elif isinstance(doc, dict):
                docs.append(doc)
    if not docs:
        raise _Unusable(f"{', '.join(paths)}: no SamuTenant found (kubectl get samu -o yaml)")
    return docs


def _api_errors() -> tuple[type[BaseException], ...]:
    import urllib3

    from samu_operator.edge.rpc import RpcError
    from samu_operator.kube import KubeError

    return (urllib3.exceptions.HTTPError, KubeError, RpcError)


def _api_message(runner: Any, exc: BaseException) -> str:
    from samu_operator.edge.rpc import RpcError

    if isinstance(exc, RpcError):
        return f"edge: {exc}: check --edge-rpc (the edge pod's JSON-RPC port)"
    return (
        f"{runner.target}: {type(exc).__name__}: {exc}: is the API up, and may you get and "
        "patch samutenants?"
    )


def _show(args: argparse.Namespace, result: Any) -> int:
    from samu_operator.bascule.checks import first_block
    from samu_operator.bascule.plan import WavePlan

    if isinstance(result, WavePlan):
        if args.output == "json":
            print_data(result.as_dict(), "json")
        else:
            print(result.text())
        for error in result.errors:
            print(f"{args.wave}: {error}", file=sys.stderr)
        return 1 if result.errors else 0
    if isinstance(result, list):  # check: the outcomes, nothing flipped
        if args.output == "json":
            print_data({"tenants": [o.as_dict() for o in result]}, "json")
        else:
            for outcome in result:
                print(f"{outcome.tenant} ({outcome.mode_from} -> {outcome.mode_to}):")
                for check in outcome.checks:
                    print(f"  [{check.source}] {check.line()}")
        blocked = [o for o in result if first_block(o.checks)]
        return 1 if blocked else 0
    if args.output == "json":
        print_data(result.as_dict(), "json")
    else:
        print(result.text())
    return 0 if result.ok else 1
