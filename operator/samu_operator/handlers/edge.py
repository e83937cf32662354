"""The SIP edge's Kopf handlers in the operator's registry (see ``samu_operator.edge.sidecar``).

They only act where ``SAMU_EDGE_DIR`` and ``SAMU_EDGE_RPC_URL`` are set; the edge pod's sidecar
runs ``samu_operator.edge.sidecar`` alone, without the rest of the operator.
"""

from samu_operator.edge.sidecar import (
    edge_start_upkeep,
    edge_stop_upkeep,
    edge_tenant_event,
    sync_now,
)

__all__ = ["edge_start_upkeep", "edge_stop_upkeep", "edge_tenant_event", "sync_now"]
