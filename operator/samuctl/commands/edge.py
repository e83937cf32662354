"""samuctl edge ...: review the SIP edge's routing table before the operator writes it."""

import argparse
import re
import sys
from pathlib import Path
from typing import Any

from samuctl.commands.output import add_output_flag, print_data


def register(subparsers: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    edge = subparsers.add_parser("edge", help="the SIP edge (Kamailio) in front of the PBX")
    verbs = edge.add_subparsers(dest="verb", metavar="VERB", required=True)

    render = verbs.add_parser(
        "render",
        help="print the dispatcher list and routing map rendered from SamuTenant files",
        description="Render what the operator would write for the edge from SamuTenant "
        "documents (with their status, e.g. `kubectl get samu -o yaml`; a List is accepted). "
        "Exit 1 naming the tenant and field when they cannot be routed.",
    )
    render.add_argument(
        "--tenants", nargs="+", required=True, metavar="FILE", help="SamuTenant YAML file(s)"
    )
    render.add_argument(
        "--address-template",
        default=None,
        help="SIP URI of a PBX: {tenant}, {zone}, {department}, {pod} "
        "(default: the per-zone Service in the tenant's Namespace)",
    )
    add_output_flag(render)
    render.set_defaults(func=_render)


#: What a dispatcher destination must look like: Kamailio refuses anything else at reload.
_SIP_URI = re.compile(r"^sips?:[^\s:@/]+(@[^\s:/]+)?(:[0-9]{1,5})?(;[^\s]*)?$")
_PLACEHOLDERS = {"tenant": "samu-30", "zone": "a", "department": "30", "pod": "pbx-a-0"}


def template_error(template: str) -> str | None:
    """Why ``--address-template`` cannot make a PBX's SIP URI, with the fix; None if it can."""
    fix = "use only {tenant}, {zone}, {department}, {pod}"
    try:
        sample = template.format(**_PLACEHOLDERS)
    except KeyError as exc:
        return f"unknown placeholder {{{exc.args[0]}}}: {fix}"
    except (IndexError, ValueError) as exc:
        return f"not a valid template ({exc}): {fix}, braces doubled as {{{{ }}}} elsewhere"
    if not _SIP_URI.match(sample):
        return (
            f"gives {sample!r}, not a SIP URI: write e.g. "
            "'sip:pbx-{zone}.{tenant}.svc.cluster.local:5060'"
        )
    return None


def _render(args: argparse.Namespace) -> int:
    from samu_operator.core.routing import DEFAULT_ADDRESS_TEMPLATE, RoutingError, build_routing
    from samu_operator.inputs.tenantfiles import load_documents
    from samu_operator.inputs.yamlfiles import InputError
    from samu_operator.model.errors import tenant_errors

    template = args.address_template or DEFAULT_ADDRESS_TEMPLATE
    problem = template_error(template)
    if problem:
        print(f"--address-template {template!r}: {problem}", file=sys.stderr)
        return 2
    documents: list[tuple[str, Any]] = []
    for name in args.tenants:
        try:
            loaded = load_documents(Path(name))
        except InputError as exc:
            print(str(exc), file=sys.stderr)
            return 1
        for label, doc in loaded:
            is_list = isinstance(doc, dict) and doc.get("kind") == "List"
            items = doc.get("items") or [] if is_list else [doc]
            documents += [
                (f"{label}#items[{i}]" if is_list else label, d) for i, d in enumerate(items)
            ]
    if not documents:
        print(
            f"{', '.join(args.tenants)}: no SamuTenant found: give the tenants' files "
            "(e.g. kubectl get samu -o yaml > tenants.yaml)",
            file=sys.stderr,
        )
        return 1
    errors = [
        f"{label}: {error}"
        for label, doc in documents
        # The status is the operator's, in any shape the API returns; the spec must be valid.
        for error in tenant_errors(
            {k: v for k, v in doc.items() if k != "status"} if isinstance(doc, dict) else doc
        )
    ]
    if errors:
        for line in errors:
            print(line, file=sys.stderr)
        print("nothing rendered: fix the errors above", file=sys.stderr)
        return 1
    try:
        table = build_routing([doc for _, doc in documents], address_template=template)
    except RoutingError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    bad = [
        f"{route.tenant}: zone {d.zone}: {d.uri!r} is not a SIP URI: fix status.pbx address "
        "or --address-template"
        for route in table.routes
        for d in route.destinations
        if not _SIP_URI.match(d.uri)
    ]
    if bad:
        for line in bad:
            print(line, file=sys.stderr)
        return 1
    if args.output == "json":
        data = table.as_dict()
        data["dispatcherList"] = table.dispatcher_list()
        data["routingMap"] = table.routing_map()
        print_data(data, "json")
        return 0
    print("# dispatcher.list")
    print(table.dispatcher_list(), end="")
    print("\n# routing (db_text table of htable 'routing')")
    print(table.routing_map(), end="")
    for warning in table.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    return 0
