"""The positions' tables the SIP edge authenticates registrations with (pure).

The operator publishes, per tenant, the Secret ``edge-positions`` (``core.positions``:
``account realm HA1`` lines and the centre's site ranges, never a password). The edge's
routing sidecar reads it by name and writes two db_text tables beside the routing map, in
the column layout of Kamailio's modules:

- ``subscriber`` (auth_db): ``username``, ``domain`` (the realm), ``ha1``; no password;
- ``address`` (permissions): one row per site range, group = the tenant's dispatcher set id
  (its département), tag = the tenant: a position registers only from its centre's networks;
- ``version``: the two tables' versions, which those modules check when they start.
"""

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from samu_operator.core.positions import EDGE_POSITIONS_KEY, EDGE_RANGES_KEY
from samu_operator.core.routing import set_id_for

_ACCOUNT = re.compile(r"^[a-z0-9][a-z0-9-]{0,126}$")
_HA1 = re.compile(r"^[0-9a-f]{32}$")


class PositionsError(ValueError):
    """A tenant's published positions cannot be used (names the tenant and the line)."""


@dataclass(frozen=True)
class TenantPositions:
    tenant: str
    department: str
    accounts: tuple[tuple[str, str, str], ...]  # (account, realm, ha1)
    ranges: tuple[str, ...]


def parse(tenant: str, department: str, data: Mapping[str, str]) -> TenantPositions:
    """The decoded ``edge-positions`` Secret of one tenant, checked line by line."""
    accounts = []
    for n, line in enumerate((data.get(EDGE_POSITIONS_KEY) or "").splitlines(), 1):
        fields = line.split("\t")
        if len(fields) != 3:
            raise PositionsError(f"{tenant}: edge-positions line {n} is not 'account realm ha1'")
        account, realm, ha1 = fields
        if not (_ACCOUNT.match(account) and _ACCOUNT.match(realm) and _HA1.match(ha1)):
            raise PositionsError(f"{tenant}: edge-positions line {n} has a malformed field")
        if not account.startswith(f"{tenant}-") or realm != tenant:
            raise PositionsError(f"{tenant}: edge-positions line {n} names another tenant")
        accounts.append((account, realm, ha1))
    ranges = []
    for n, line in enumerate((data.get(EDGE_RANGES_KEY) or "").splitlines(), 1):
        try:
            ranges.append(str(ipaddress.IPv4Network(line.strip(), strict=True)))
        except ValueError as exc:
            raise PositionsError(f"{tenant}: site range {n} {line!r}: {exc}") from None
    return TenantPositions(tenant, department, tuple(accounts), tuple(ranges))


#: db_text's table versions, which auth_db and permissions check at start.
TABLE_VERSIONS = {"subscriber": 7, "address": 6}


def version_table() -> str:
    lines = ["table_name(string) table_version(int)"]
    lines += [f"{name}:{version}" for name, version in TABLE_VERSIONS.items()]
    return "\n".join(lines) + "\n"


def subscriber_table(tenants: Iterable[TenantPositions]) -> str:
    lines = [
        "id(int,auto) username(string) domain(string) password(string,null) ha1(string) ha1b(string,null)"
    ]
    n = 0
    for t in sorted(tenants, key=lambda t: t.tenant):
        for account, realm, ha1 in t.accounts:
            n += 1
            lines.append(f"{n}:{account}:{realm}::{ha1}:")
    return "\n".join(lines) + "\n"


def address_table(tenants: Iterable[TenantPositions]) -> str:
    lines = ["id(int,auto) grp(int) ip_addr(string) mask(int) port(int) tag(string,null)"]
    n = 0
    for t in sorted(tenants, key=lambda t: t.tenant):
        for cidr in t.ranges:
            net = ipaddress.IPv4Network(cidr)
            n += 1
            lines.append(
                f"{n}:{set_id_for(t.department)}:{net.network_address}:{net.prefixlen}:0:{t.tenant}"
            )
    return "\n".join(lines) + "\n"
