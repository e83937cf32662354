"""Address-plan guardrails: ranges that must never overlap, servers that must be addresses.

Pure: (key after ``samu-platform:``, problem and fix) pairs over the typed stack config.
A collision here is silent at deploy time and loses calls later: a pod range that shadows a
node subnet black-holes traffic between nodes, a carrier range inside the supernet lets a
tenancy address pass for the carrier, an admin range equal to a carrier range opens SSH to
the carrier. So every pair is compared, and every error names the key to change.
"""

import ipaddress
from itertools import combinations

from samu_infra.config import StackConfig

Net = ipaddress.IPv4Network


def _ranges(cfg: StackConfig) -> list[tuple[str, str, Net]]:
    """(key, what it is, network) of every range of the address plan, supernet first."""
    net = cfg.network
    out = [
        ("network.supernet", "the supernet (every subnet of the tenancy)", Net(net.supernet)),
        ("network.podCidr", "the clusters' pod range", Net(net.pod_cidr)),
        ("network.serviceCidr", "the clusters' service range", Net(net.service_cidr)),
    ]
    out += [
        (f"network.carrierCidrs[{i}]", "a carrier range", Net(c))
        for i, c in enumerate(net.carrier_cidrs)
    ]
    out += [
        (f"network.adminCidrs[{i}]", "an admin range", Net(c))
        for i, c in enumerate(net.admin_cidrs)
    ]
    return out


def _fix(key: str) -> str:
    if key in ("network.podCidr", "network.serviceCidr"):
        return "choose a private range outside the supernet and the other ranges (e.g. 10.42.0.0/16 for pods, 10.43.0.0/16 for services)"
    if key.startswith("network.carrierCidrs"):
        return "list the carrier's public ranges exactly as the carrier announces them"
    return "list the administrators' own public ranges"


def overlap_issues(cfg: StackConfig) -> list[tuple[str, str]]:
    """Each pair of ranges that overlap, reported at the later key (the supernet stays put).

    Two entries of one list that overlap (two carrier ranges) are allowed: a carrier may
    announce a range and a sub-range; only ranges of different roles must be disjoint.
    """
    issues = []
    for (key_a, what_a, a), (key_b, what_b, b) in combinations(_ranges(cfg), 2):
        same_list = key_a.split("[")[0] == key_b.split("[")[0]
        # 0.0.0.0/0 is refused on its own (stackfile): one error, not one per other range.
        if same_list or 0 in (a.prefixlen, b.prefixlen) or not a.overlaps(b):
            continue
        issues.append(
            (
                key_b,
                f"{b} overlaps {what_a} {a} ({key_a}): {what_b} must be disjoint from it; "
                + _fix(key_b),
            )
        )
    return issues


def nameserver_issues(cfg: StackConfig) -> list[tuple[str, str]]:
    """DNS servers the subnets hand out: addresses (not names, not ranges) inside the supernet.

    The nodes resolve through them before anything else works (the mirror, the API VIP), and
    the security groups admit nothing from outside the supernet: a server elsewhere is never
    reached.
    """
    supernet = Net(cfg.network.supernet)
    issues = []
    for i, server in enumerate(cfg.network.dns_nameservers):
        key = f"network.dnsNameservers[{i}]"
        try:
            address = ipaddress.IPv4Address(str(server))
        except ValueError:
            issues.append(
                (
                    key,
                    f"{server!r} is not an IPv4 address: write the resolver's address, e.g. "
                    f"{supernet.network_address + (supernet.num_addresses // 2) + 2}",
                )
            )
            continue
        if address not in supernet:
            issues.append(
                (
                    key,
                    f"{address} is outside the supernet {supernet}: use a resolver inside "
                    "the tenancy (the security groups admit nothing else)",
                )
            )
        elif address in (supernet.network_address, supernet.broadcast_address):
            issues.append((key, f"{address} is not a host address of {supernet}: use a host"))
    return issues


def address_issues(cfg: StackConfig) -> list[tuple[str, str]]:
    return overlap_issues(cfg) + nameserver_issues(cfg)
