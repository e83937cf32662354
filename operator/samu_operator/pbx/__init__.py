"""Programs that run beside Asterisk in a PBX pod (the operator image's sidecars)."""
