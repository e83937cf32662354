"""The address plan, carved from the stack's supernet by a pure function.

Fixed addresses matter for Oracle: node VIPs and SCAN VIPs must be known before any node
boots (they go into allowed address pairs and DNS), so they are computed, not allocated.
"""

import ipaddress
from dataclasses import dataclass

#: Most zones a supernet is carved for (the first half holds one node subnet per zone).
MAX_ZONES = 8
SCAN_VIPS = 3


@dataclass(frozen=True)
class AddressPlan:
    nodes: dict[str, str]  # zone -> CIDR of that zone's node subnet
    admin: str
    rac_public: str
    rac_interconnect: str
    rac_storage: str

    def mirror_ip(self) -> str:
        """The bastion's fixed address: the nodes' artifact and image mirror (mirror.py)."""
        return _host(self.admin, 10)

    def rac_node_ip(self, index: int) -> str:
        return _host(self.rac_public, 10 + index)

    def rac_vip(self, index: int) -> str:
        return _host(self.rac_public, 50 + index)

    def scan_vips(self) -> list[str]:
        return [_host(self.rac_public, 100 + i) for i in range(SCAN_VIPS)]

    def standby_ip(self) -> str:
        return _host(self.rac_public, 150)

    def interconnect_ip(self, index: int) -> str:
        return _host(self.rac_interconnect, 10 + index)

    def storage_ip(self, index: int) -> str:
        return _host(self.rac_storage, 10 + index)


def _host(cidr: str, offset: int) -> str:
    return str(ipaddress.IPv4Network(cidr).network_address + offset)


def carve(supernet: str, zones: list[str]) -> AddressPlan:
    """First half of the supernet: one node subnet per zone; second half: /24s for the rest."""
    if len(zones) > MAX_ZONES:
        raise ValueError(f"{len(zones)} zones: at most {MAX_ZONES} fit the address plan")
    net = ipaddress.IPv4Network(supernet)
    low, high = net.subnets(prefixlen_diff=1)
    zone_nets = list(low.subnets(prefixlen_diff=3))
    small = high.subnets(new_prefix=max(24, high.prefixlen))
    admin, public, interconnect, storage = (str(next(small)) for _ in range(4))
    return AddressPlan(
        nodes={zone: str(zone_nets[i]) for i, zone in enumerate(zones)},
        admin=admin,
        rac_public=public,
        rac_interconnect=interconnect,
        rac_storage=storage,
    )
