"""samuctl crd ...: the SamuTenant CRD, generated from the pydantic model."""

import argparse
import sys
from pathlib import Path

DEFAULT_PATH = Path("helm/samu-operator/crds/samutenants.samu-platform.io.yaml")
REFERENCE_PATH = Path("docs/reference/samutenant.md")


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
    docs = verbs.add_parser(
        "docs",
        help="write the SamuTenant field reference generated from the model",
        description="Write the field reference (Markdown) generated from the model.",
    )
    docs.add_argument(
        "--path", type=Path, default=REFERENCE_PATH, help=f"default: {REFERENCE_PATH}"
    )
    docs.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if the file is out of date"
    )
    docs.set_defaults(func=_docs)
    show = verbs.add_parser("show", help="print the generated CRD as YAML")
    show.set_defaults(func=lambda _args: print(_render(), end="") or 0)


def _render() -> str:
    from samu_operator.model.crd import render_crd_yaml

    return render_crd_yaml()


def _docs(args: argparse.Namespace) -> int:
    from samu_operator.model.explain import reference_markdown

    return _write_generated(args.path, reference_markdown(), args.check, "samuctl crd docs")


def _generate(args: argparse.Namespace) -> int:
    return _write_generated(args.path, _render(), args.check, "samuctl crd generate")


def _write_generated(path: Path, text: str, check: bool, command: str) -> int:
    """Write ``text`` to ``path``, or with ``check`` only compare (exit 1 when stale)."""
    args = argparse.Namespace(path=path, check=check)
    current = args.path.read_text(encoding="utf-8") if args.path.exists() else None
    if args.check:
        if current != text:
            print(f"{args.path} is out of date: run '{command}'", file=sys.stderr)
            return 1
        print(f"{args.path} is up to date")
        return 0
    args.path.parent.mkdir(parents=True, exist_ok=True)
    args.path.write_text(text, encoding="utf-8")
    print(f"wrote {args.path}")
    return 0
