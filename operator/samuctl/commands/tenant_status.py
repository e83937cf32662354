"""samuctl tenant status [NAME] [--watch]: each tenant's life at a glance, like `kubectl get`.

Reads the SamuTenants and their ``dropped-calls`` ConfigMaps through the kubeconfig (the
official Kubernetes client: same contexts, same credentials as kubectl) or, with
``--server``, from a plain-http API such as the embedded default's emulator. The row itself
is built by the pure ``samu_operator.core.tenant_view``.
"""

import argparse
import datetime
import logging
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from samuctl.commands.output import add_output_flag, print_data


def register(verbs: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    status = verbs.add_parser(
        "status",
        help="each tenant's phase, active zone, epoch, last failover, standbys, call-backs",
        description="Show SamuTenants as the cluster has them: phase, active zone, fencing "
        "epoch, last failover, ready standbys, positions registered, answered calls dropped "
        "and waiting for call-back, recording backlog ('n/a' when not reported). Exit 1 if "
        "NAME does not exist, 2 if the API cannot be reached.",
    )
    status.add_argument("name", nargs="?", metavar="NAME", help="one tenant, e.g. samu-30")
    status.add_argument(
        "-w", "--watch", action="store_true", help="print the table again on every change"
    )
    status.add_argument(
        "--interval", type=float, default=2.0, help="seconds between reads with --watch"
    )
    status.add_argument(
        "--server",
        metavar="URL",
        help="plain-http API server (the embedded default's emulator) instead of the "
        "kubeconfig; default: $SAMU_OPERATOR_KUBE_URL when set",
    )
    status.add_argument("--kubeconfig", metavar="PATH", help="default: $KUBECONFIG, ~/.kube/config")
    status.add_argument("--context", help="kubeconfig context (default: the current one)")
    # Bounds --watch (tests); a person stops it with Ctrl-C.
    status.add_argument("--max-updates", type=int, default=None, help=argparse.SUPPRESS)
    add_output_flag(status, choices=("text", "json"))
    status.set_defaults(func=_status)


class ApiUnreachable(Exception):
    """The API server could not be asked: one line saying where and what to check."""


def _client(args: argparse.Namespace) -> Any:
    from kubernetes import config

    from samu_operator import kube

    # An explicit kubeconfig or context wins over the emulator URL of the environment.
    server = args.server or (
        None if args.kubeconfig or args.context else os.environ.get(kube.SERVER_ENV)
    )
    if server:
        return kube.Kube(kube.make_api_client(server))
    try:
        api = config.new_client_from_config(config_file=args.kubeconfig, context=args.context)
    except (config.ConfigException, OSError, ValueError) as exc:
        raise ApiUnreachable(
            f"no usable kubeconfig ({exc}): set KUBECONFIG or --kubeconfig, or --server URL"
        ) from None
    return kube.Kube(api)


def read_rows(client: Any, name: str | None) -> list[Any]:
    """The rows of one or every SamuTenant; LookupError when NAME does not exist."""
    from samu_operator.core.dropped import CONFIGMAP_NAME
    from samu_operator.core.meta import namespace_of
    from samu_operator.core.tenant_view import tenant_row
    from samu_operator.kube import TENANT_API, Ref
    from samu_operator.model.tenant import KIND

    if name:
        one = client.get(Ref(TENANT_API, KIND, None, name))
        if one is None:
            raise LookupError(name)
        tenants = [one]
    else:
        tenants = client.list(TENANT_API, KIND)
    rows = []
    for tenant in sorted(tenants, key=lambda t: t["metadata"]["name"]):
        namespace = namespace_of(tenant["metadata"]["name"])
        dropped = client.get(Ref("v1", "ConfigMap", namespace, CONFIGMAP_NAME))
        rows.append(tenant_row(tenant, dropped))
    return rows


def _status(args: argparse.Namespace) -> int:
    from samu_operator.core.tenant_view import render_table

    # urllib3 logs each retry of an unreachable server; the one line below says it all.
    logging.getLogger("urllib3").setLevel(logging.ERROR)

    try:
        client = _client(args)
        fetch: Callable[[], list[Any]] = lambda: _guarded(read_rows, client, args.name)  # noqa: E731
        rows = fetch()
    except ApiUnreachable as exc:
        print(f"samuctl tenant status: {exc}", file=sys.stderr)
        return 2
    except LookupError:
        print(
            f"{args.name}: no such SamuTenant: 'samuctl tenant status' lists them all",
            file=sys.stderr,
        )
        return 1

    def show(rows: list[Any]) -> None:
        if args.output == "json":
            print_data([r.as_dict() for r in rows], "json")
        elif rows:
            print(render_table(rows, datetime.datetime.now(datetime.UTC)))
        else:
            print("no SamuTenant yet: onboard one with kubectl apply -f samu-<dept>.yaml")
        sys.stdout.flush()

    show(rows)
    if args.watch:
        watch(fetch, show, rows, args.interval, args.max_updates)
    return 0


def watch(
    fetch: Callable[[], list[Any]],
    show: Callable[[list[Any]], None],
    rows: list[Any],
    interval: float,
    max_updates: int | None = None,
) -> None:
    """Read every ``interval`` seconds and show the rows again when they change; a failed
    read is said once per failure and retried (the API may be restarting). Until Ctrl-C,
    or ``max_updates`` tables shown in all."""
    shown = 1
    while max_updates is None or shown < max_updates:
        time.sleep(interval)
        try:
            new = fetch()
        except (ApiUnreachable, LookupError) as exc:
            print(f"samuctl tenant status: {exc}; retrying", file=sys.stderr)
            continue
        if new != rows:
            rows = new
            show(rows)
            shown += 1


def _guarded(read: Callable[..., list[Any]], client: Any, name: str | None) -> list[Any]:
    """Transport and API errors as one ApiUnreachable line."""
    import urllib3

    from samu_operator.kube import KubeError

    host = getattr(getattr(client.api, "configuration", None), "host", "the API server")
    try:
        return read(client, name)
    except urllib3.exceptions.HTTPError as exc:
        raise ApiUnreachable(f"cannot reach {host} ({type(exc).__name__}): is it up?") from None
    except KubeError as exc:
        raise ApiUnreachable(
            f"{host} refused: {exc}: check your credentials and RBAC (get samutenants, "
            "get configmaps)"
        ) from None
