"""The centre's answering positions (ARMs' seats): who answers which queue, and their SIP
accounts at the edge.

Positions are ``spec.positions`` or, when the spec lists none, ``capacity.agents`` positions
``arm-01``... answering every queue: a new centre answers calls on day one, and a centre that
dedicates seats (vital distress only, say) lists them. Phones register at the SIP edge, never
at a PBX, so a PBX failover needs no re-registration: the PBX's queues dial a position as
``PJSIP/edge/sip:<account>@<edge>`` and the edge finds where it registered.

Credentials, generated once and never overwritten: the create-only Secret
``position-credentials`` holds one random key per tenant; a position's password is derived
from it (HMAC-SHA256 of the key and the account), so adding a position changes no Secret and
removing then re-adding one gives it back the same password. From the passwords the operator
publishes (pure functions here):

- ``position-passwords`` (tenant Namespace): account -> password, to provision the phones;
- ``edge-positions`` (tenant Namespace, the only Secret the edge may read): account, realm
  and HA1 (MD5 of ``account:realm:password``, what SIP digest needs; never the password)
  plus the centre's site ranges, the only sources a position may register from.
"""

import base64
import hashlib
import hmac
from dataclasses import dataclass

from samu_operator.core.pbx_contract import EDGE_HOST
from samu_operator.model.tenant import SamuTenantSpec

KEY_SECRET = "position-credentials"
KEY_FIELD = "key"
PASSWORDS_SECRET = "position-passwords"
EDGE_SECRET = "edge-positions"
EDGE_POSITIONS_KEY = "positions"
EDGE_RANGES_KEY = "site-ranges"


@dataclass(frozen=True)
class Position:
    name: str
    queues: tuple[str, ...]

    def account(self, tenant: str) -> str:
        """The SIP user name, unique on the shared edge: tenant + position."""
        return f"{tenant}-{self.name}"


def positions(spec: SamuTenantSpec) -> list[Position]:
    """The tenant's positions (see the module's docstring), in a stable order."""
    every = tuple(q.name for q in spec.queues)
    if not spec.positions:
        width = max(2, len(str(spec.capacity.agents)))
        return [Position(f"arm-{i:0{width}d}", every) for i in range(1, spec.capacity.agents + 1)]
    return [Position(p.name, tuple(p.queues) or every) for p in spec.positions]


def members(tenant: str, spec: SamuTenantSpec, queue: str) -> list[Position]:
    return [p for p in positions(spec) if queue in p.queues]


def dial_interface(tenant: str, position: Position) -> str:
    """How the PBX rings a position: through its edge endpoint, to the account's AoR."""
    return f"PJSIP/edge/sip:{position.account(tenant)}@{EDGE_HOST}"


def realm(tenant: str) -> str:
    """The digest realm of a tenant's positions: its own, so a hash is worth nothing elsewhere."""
    return tenant


def password(key: str, account: str) -> str:
    """A position's SIP password, derived from the tenant's key (32 url-safe characters)."""
    digest = hmac.new(key.encode(), account.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:32]


def ha1(account: str, realm_: str, password_: str) -> str:
    """RFC 2617's HA1, what the edge's registrar checks a digest against."""
    return hashlib.md5(f"{account}:{realm_}:{password_}".encode()).hexdigest()


def passwords(tenant: str, spec: SamuTenantSpec, key: str) -> dict[str, str]:
    """account -> password, for the phones' provisioning."""
    return {p.account(tenant): password(key, p.account(tenant)) for p in positions(spec)}


def edge_table(tenant: str, spec: SamuTenantSpec, key: str) -> str:
    """What the edge needs to authenticate the positions: one line per position,
    ``account realm ha1``, tab-separated; no password."""
    lines = [
        f"{account}\t{realm(tenant)}\t{ha1(account, realm(tenant), pw)}"
        for account, pw in passwords(tenant, spec, key).items()
    ]
    return "".join(f"{line}\n" for line in lines)


def site_ranges(spec: SamuTenantSpec) -> str:
    return "".join(f"{cidr}\n" for cidr in spec.site_ranges)
