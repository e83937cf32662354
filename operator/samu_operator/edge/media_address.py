"""The edge pod's media address, read from its node: ``python -m samu_operator.edge.media_address``.

With ``media.network.mode: hostNetwork`` rtpengine uses the edge node's own address, and the
carrier reaches it on that node's floating IP (1:1 NAT, see docs/infrastructure.md), which the
Pulumi program writes on the node as the label ``samu-platform.io/media-address``. Each edge
node has its own, so no chart value can hold it: this init container reads the label of the
node the pod runs on and writes rtpengine's two interfaces into its configuration file
(``carrier/<node address>!<media address>``: advertised in SDP to the carrier;
``internal/<node address>``: towards the PBX). A node without the label, or with a label that
is not an IPv4 address, stops the pod here with one line naming the node, the label and the fix:
rtpengine must never advertise an address the carrier cannot reach.

Environment: ``NODE_NAME``, ``POD_IP`` (downward API), ``SAMU_MEDIA_ADDRESS_LABEL``,
``SAMU_MEDIA_CONFIG`` (the file written).
"""

from __future__ import annotations

import ipaddress
import os
import sys
from collections.abc import Mapping
from pathlib import Path


class MediaAddressError(ValueError):
    """The node gives no usable media address; the message says what to fix."""


def media_address(node: str, labels: Mapping[str, str], label: str) -> str:
    value = labels.get(label, "")
    fix = f"kubectl label node {node} {label}=<the node's floating IP> (the Pulumi program sets it)"
    if not value:
        raise MediaAddressError(f"node {node} has no label {label}: {fix}")
    try:
        address = ipaddress.IPv4Address(value)
    except ValueError:
        raise MediaAddressError(
            f"node {node}: label {label}={value!r} is not an IPv4 address: {fix}"
        ) from None
    if address.is_unspecified or address.is_loopback:
        raise MediaAddressError(f"node {node}: label {label}={value} cannot be reached: {fix}")
    return str(address)


def rtpengine_config(pod_ip: str, address: str) -> str:
    """rtpengine's configuration file: its two logical interfaces (the command line gives the
    rest; rtpengine reads lists in its file ';'-separated)."""
    return f"[rtpengine]\ninterface = carrier/{pod_ip}!{address};internal/{pod_ip}\n"


def main(env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    missing = [
        k
        for k in ("NODE_NAME", "POD_IP", "SAMU_MEDIA_ADDRESS_LABEL", "SAMU_MEDIA_CONFIG")
        if not env.get(k)
    ]
    if missing:
        print(
            f"media-address: {', '.join(missing)} unset (the edge chart sets them)", file=sys.stderr
        )
        return 2
    from samu_operator import kube

    node = env["NODE_NAME"]
    try:
        got = kube.Kube(kube.make_api_client()).get(kube.Ref("v1", "Node", None, node))
        labels = (got or {}).get("metadata", {}).get("labels") or {}
        address = media_address(node, labels, env["SAMU_MEDIA_ADDRESS_LABEL"])
    except MediaAddressError as err:
        print(f"media-address: {err}", file=sys.stderr)
        return 1
    except Exception as err:  # the API unreachable or refusing: the pod retries (restart)
        print(f"media-address: reading node {node}: {err}", file=sys.stderr)
        return 1
    out = Path(env["SAMU_MEDIA_CONFIG"])
    tmp = out.with_suffix(".tmp")
    tmp.write_text(rtpengine_config(env["POD_IP"], address))
    os.replace(tmp, out)
    print(f"media-address: node {node} advertises {address} to the carrier")
    return 0


if __name__ == "__main__":
    sys.exit(main())
