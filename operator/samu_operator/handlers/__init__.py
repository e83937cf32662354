"""The operator's Kopf handlers: ``kopf run -m samu_operator.handlers --all-namespaces``.

Importing this package registers every handler in Kopf's default registry:
``settings`` (Kopf settings, login, metrics server), ``tenants`` (SamuTenant lifecycle), ``children`` (drift
correction, PBX readiness), ``rollout`` (restarts one PBX at a time, never the active). The failover part adds its module to the imports below;
``edge`` keeps the SIP edge's routing table in sync (only where SAMU_EDGE_DIR is set).
"""

from samu_operator.handlers import children, edge, failover, rollout, settings, tenants

__all__ = ["children", "edge", "failover", "rollout", "settings", "tenants"]
