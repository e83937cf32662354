"""samuctl crd ...: the SamuTenant CRD, generated from the pydantic model."""

import argparse
import sys
from pathlib import Path

DEFAULT_PATH = Path("helm/samu-operator/crds/samutenants.samu-platform.io.yaml")


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    crd = subparsers.add_parser("crd", help="the SamuTenant CustomResourceDefinition")
    verbs = crd.add_subparsers(dest="verb", metavar="VERB", required=True)
    gen = verbs.add_parser(
        "generate",
        help="write the CRD generated from the model into the chart",
        description="Write the CRD generated from the SamuTenant model (never edit it by hand).",
    )
    gen.add_argument("--path", type=Path, default=DEFAULT_PATH, help=f"default: {DEFAULT_PATH}")
    gen.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if the file is out of date"
    )
    gen.set_defaults(func=_generate)
    show = verbs.add_parser("show", help="print the generated CRD as YAML")
    show.set_defaults(func=lambda _args: print(_render(), end="") or 0)


def _render() -> str:
    from samu_operator.model.crd import render_crd_yaml

    return render_crd_yaml()


def _generate(args: argparse.Namespace) -> int:
    text = _render()
    current = args.path.read_text(encoding="utf-8") if args.path.exists() else None
    if args.check:
        if current != text:
            print(f"{args.path} is out of date: run 'samuctl crd generate'", file=sys.stderr)
            return 1
        print(f"{args.path} is up to date")
        return 0
    args.path.parent.mkdir(parents=True, exist_ok=True)
    args.path.write_text(text, encoding="utf-8")
    print(f"wrote {args.path}")
    return 0
