"""The bascule of SAMU onto the platform: waves of tenants flipped from their old platform
(routing mode ``legacy``) to their PBX (``platform``) and back: the wave file, the plan, the
preflight checks (pure), and the runner that flips them through the Kubernetes API."""
