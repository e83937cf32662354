"""The failover runtime: the engine that turns the cluster's signals into ``core.failover``
decisions (``engine``), the per-tenant view of pods, nodes and tenants it decides on
(``cache``) and the fenced writes that carry a decision out (``writes``)."""
