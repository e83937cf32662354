"""samuctl edge ...: review the SIP edge's routing table before the operator writes it."""

import argparse
import sys
from pathlib import Path

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


def _render(args: argparse.Namespace) -> int:
    import yaml

    from samu_operator.core.routing import DEFAULT_ADDRESS_TEMPLATE, RoutingError, build_routing
    from samu_operator.tenantfiles import load_documents

    documents = []
    for name in args.tenants:
        try:
            loaded = load_documents(Path(name))
        except (OSError, yaml.YAMLError) as exc:
            print(f"{name}: cannot read: {exc}", file=sys.stderr)
            return 1
        for _, doc in loaded:
            items = doc.get("items") if isinstance(doc, dict) and "items" in doc else [doc]
            documents.extend(items or [])
    try:
        table = build_routing(
            documents, address_template=args.address_template or DEFAULT_ADDRESS_TEMPLATE
        )
    except RoutingError as exc:
        print(f"error: {exc}", file=sys.stderr)
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
