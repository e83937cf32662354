"""The keeper's pure decisions: no SIP stack, no socket, no Redis client, no Kubernetes."""
