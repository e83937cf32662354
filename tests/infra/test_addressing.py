"""The address plan carved from the supernet: disjoint, inside it, VIPs where RAC needs them."""

import ipaddress
import itertools

import pytest

from samu_infra.addressing import MAX_ZONES, carve


@pytest.mark.parametrize(
    ("supernet", "zones"), [("10.40.0.0/16", 3), ("10.8.0.0/18", 8), ("10.0.0.0/8", 5)]
)
def test_subnets_are_disjoint_and_inside_the_supernet(supernet, zones):
    plan = carve(supernet, [f"z{i}" for i in range(zones)])
    nets = [
        ipaddress.ip_network(c)
        for c in [
            *plan.nodes.values(),
            plan.admin,
            plan.rac_public,
            plan.rac_interconnect,
            plan.rac_storage,
        ]
    ]
    top = ipaddress.ip_network(supernet)
    assert all(n.subnet_of(top) for n in nets)
    assert not any(a.overlaps(b) for a, b in itertools.combinations(nets, 2))
    assert len(plan.nodes) == zones


def test_vips_scan_and_nodes_are_distinct_addresses_of_the_public_subnet():
    plan = carve("10.40.0.0/16", ["a", "b", "c"])
    public = ipaddress.ip_network(plan.rac_public)
    addresses = [plan.rac_node_ip(i) for i in range(8)] + [plan.rac_vip(i) for i in range(8)]
    addresses += [*plan.scan_vips(), plan.standby_ip()]
    assert len(set(addresses)) == len(addresses) == 20
    assert all(ipaddress.ip_address(a) in public for a in addresses)
    assert len(plan.scan_vips()) == 3


def test_too_many_zones_is_refused():
    with pytest.raises(ValueError, match="at most"):
        carve("10.40.0.0/16", [f"z{i}" for i in range(MAX_ZONES + 1)])
