"""The edge's record of an answered call (Kamailio's ``calls`` htable item, key Call-ID), read
for the recording shipper: the tenant and the caller, known from the PBX's answer on, long
before rtpengine writes them into the recording's metadata at the call's end.

The item is ``<PBX URI>|<answered at>|<PBX To tag>|<tenant>|<caller's From URI>|...`` (see the
``calls`` htable in the edge chart's kamailio.cfg).
"""

import re

_TENANT = re.compile(r"samu-[0-9a-z]{2,3}")
_FROM_USER = re.compile(r"sips?:([^@;>]+)@")


def tenant_and_caller(item: str) -> tuple[str, str | None] | None:
    """(tenant, caller) from an item's value, or None when it is not one the edge wrote."""
    fields = item.split("|")
    if len(fields) < 5 or not _TENANT.fullmatch(fields[3]):
        return None
    caller = _FROM_USER.search(fields[4])
    return fields[3], caller.group(1) if caller else None
