"""Sizing of a tenant's PBX and recording volumes from its spec, in canonical quantities.

Pure arithmetic kept apart from the object builders (desired.py): the handlers compare
what they read back with these canonical forms, so a re-read never looks like drift.
"""

import math

from samu_operator.core.pbx_contract import RECORDING_BYTES_PER_SECOND
from samu_operator.model.tenant import SamuTenantSpec

#: MixMonitor's format (8 kHz 16-bit PCM WAV, both directions mixed): 16000 bytes a second.
RECORDED_BYTES_PER_SECOND = RECORDING_BYTES_PER_SECOND
#: The volume is the shipper's spool, not the archive (the store keeps the retention): it must
#: hold every call recorded while the store is out of reach, at full capacity, for this long.
STORE_OUTAGE_HOURS = 24


def recording_size_gi(spec: SamuTenantSpec) -> int:
    """Per-zone recording spool: maxConcurrentCalls all recorded for STORE_OUTAGE_HOURS at
    the WAV rate (120 calls: 16000 B/s x 120 x 86400 s = 155 GiB), at least 10Gi."""
    seconds = 3600 * STORE_OUTAGE_HOURS
    size = spec.capacity.max_concurrent_calls * seconds * RECORDED_BYTES_PER_SECOND
    return max(10, math.ceil(size / 2**30))


def cpu_millis(quantity: str) -> int:
    """'2' -> 2000, '500m' -> 500, '0.5' -> 500."""
    if quantity.endswith("m"):
        return int(float(quantity[:-1]))
    return int(float(quantity) * 1000)


_MEMORY_UNITS = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_MEMORY_UNITS |= {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def memory_mi(quantity: str) -> int:
    """'4Gi' -> 4096 (MiB, rounded up)."""
    digits = quantity.rstrip("KMGTi")
    return math.ceil(int(digits) * _MEMORY_UNITS[quantity[len(digits) :]] / 2**20)


def cpu_text(millis: int) -> str:
    """The API server's canonical form ('2', '500m'), so that a re-read never looks like drift."""
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"


def memory_text(mib: int) -> str:
    return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"


def pbx_size(spec: SamuTenantSpec) -> dict[str, str]:
    """One PBX's requests (= limits), canonical."""
    res = spec.pbx.resources
    return {"cpu": cpu_text(cpu_millis(res.cpu)), "memory": memory_text(memory_mi(res.memory))}
