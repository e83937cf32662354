"""samuctl tenant init / explain: write a SamuTenant from scratch without reading the CRD.

Both come from the model (``samu_operator.model.explain``), as does the field reference
that ``samuctl crd docs`` writes.
"""

import argparse
import sys


def register(verbs: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    init = verbs.add_parser(
        "init",
        help="print a commented SamuTenant for a département, valid as it is",
        description="Print a commented SamuTenant for DEPT (INSEE code: 30, 2A, 974) with the "
        "model's defaults and sample values to adapt (image, zones, capacity, queues). Exit 2 "
        "on a code that is not a département.",
    )
    init.add_argument("department", metavar="DEPT", help="INSEE département code, e.g. 30, 2A")
    init.set_defaults(func=_init)

    explain = verbs.add_parser(
        "explain",
        help="describe a SamuTenant field (like kubectl explain)",
        description="Describe FIELD (e.g. spec.pbx.zones): type, whether required, default, "
        "limits and its own fields. Without FIELD: the resource. Exit 1 on an unknown field.",
    )
    explain.add_argument("field", nargs="?", default="", metavar="FIELD")
    explain.set_defaults(func=_explain)


def _init(args: argparse.Namespace) -> int:
    from samu_operator.model.explain import scaffold

    try:
        text = scaffold(args.department)
    except ValueError as exc:
        print(f"DEPT {args.department!r}: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


def _explain(args: argparse.Namespace) -> int:
    from samu_operator.model.explain import UnknownField, explain

    try:
        text = explain(args.field)
    except UnknownField as exc:
        print(str(exc), file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0
