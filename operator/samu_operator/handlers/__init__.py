"""Kopf handlers: thin shells that read the cluster, call core, and write the result."""
