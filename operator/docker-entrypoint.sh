#!/bin/sh
# Entrypoint of the samu-operator image: `kopf run` with a peering priority of its own.
# Kopf peering freezes every replica when two share one priority, and a Deployment gives its
# pods no ordinal: derive the priority from the pod's (unique) name unless KOPF_PRIORITY is set.
set -eu
if [ -z "${KOPF_PRIORITY:-}" ]; then
    KOPF_PRIORITY=$(printf '%s' "${POD_NAME:-$(hostname)}" | cksum | cut -d ' ' -f 1)
fi
exec kopf run --priority="$KOPF_PRIORITY" "$@"
