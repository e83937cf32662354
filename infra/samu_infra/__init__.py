"""samu_infra: the Pulumi program of samu-platform (OpenStack tenancy, Kubernetes, Oracle RAC).

Components are thin shells around pure functions (config validation, guardrails, plan).
"""
