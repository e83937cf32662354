"""samu_operator: the SAMU-Centre 15 telephony operator.

Layers (enforced by .importlinter): ``model`` (pydantic, pure) and ``core`` (pure decisions)
import neither kopf nor a Kubernetes client nor pulumi; ``handlers`` are thin Kopf shells.
"""
