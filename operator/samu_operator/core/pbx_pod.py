"""The containers of a PBX pod: Asterisk, the recording shipper and the config reloader.

Each mounts what the contract (``pbx_contract``) says and nothing more; all three run as the
image's non-root user under a read-only root (Pod Security "restricted").
"""

from samu_operator.core import pbx_contract as contract
from samu_operator.core.meta import METRICS_PORT, SIP_PORT, Obj
from samu_operator.core.sizing import pbx_size
from samu_operator.model.tenant import SamuTenantSpec

#: The recording store's credentials (shared recordings contract), in the tenant's Namespace.
RECORDINGS_STORE_SECRET = "samu-recordings-store"
SHIPPER_METRICS_PORT = 9102
#: The recordings PVC holds MixMonitor's spool, the shipper's journal and Asterisk's logs
#: (queue_log and the abandoned calls' journal survive a pod restart) side by side.
RECORDINGS_SUBPATH = "spool"
SHIPPER_STATE_SUBPATH = "state"
LOG_SUBPATH = "log"
#: The abandoned-call reader's journal, next to the queue_log it reads.
ABANDONED_JOURNAL = f"{contract.LOG_DIR}/abandoned-calls.jsonl"
#: Where the API client finds the pod's ServiceAccount token (only this sidecar mounts it).
TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"

_RESTRICTED = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
#: Asterisk's mounts (see pbx_contract): (volume, path, read-only, sub-path).
PBX_MOUNTS = (
    ("config", contract.CONFIG_DIR, True, None),
    ("secrets", contract.SECRETS_DIR, True, None),
    ("spool", contract.SPOOL_DIR, False, None),
    ("recordings", contract.RECORDINGS_DIR, False, RECORDINGS_SUBPATH),
    ("run", contract.RUN_DIR, False, None),
    ("recordings", contract.LOG_DIR, False, LOG_SUBPATH),
    ("db", contract.DB_DIR, False, None),
)
#: The recording shipper's mounts: the spool it ships and its journal, one volume.
SHIPPER_MOUNTS = (
    ("recordings", contract.RECORDINGS_DIR, False, RECORDINGS_SUBPATH),
    ("recordings", contract.SHIPPER_STATE_DIR, False, SHIPPER_STATE_SUBPATH),
)
#: The reloader's mounts: the configuration it watches and Asterisk's control socket.
RELOADER_MOUNTS = (
    ("config", contract.CONFIG_DIR, True, None),
    ("secrets", contract.SECRETS_DIR, True, None),
    ("run", contract.RUN_DIR, False, None),
)
#: The abandoned-call reader's mounts: Asterisk's logs and the API token.
ABANDONED_MOUNTS = (
    ("recordings", contract.LOG_DIR, False, LOG_SUBPATH),
    ("api-token", TOKEN_DIR, True, None),
)
#: Small, fixed sizes of the sidecars (Guaranteed QoS like the PBX itself).
SHIPPER_SIZE = {"cpu": "250m", "memory": "256Mi"}
RELOADER_SIZE = {"cpu": "50m", "memory": "64Mi"}
ABANDONED_SIZE = {"cpu": "50m", "memory": "128Mi"}
SIDECAR_SIZES = (SHIPPER_SIZE, RELOADER_SIZE, ABANDONED_SIZE)


def _mounts(mounts: tuple[tuple[str, str, bool, str | None], ...]) -> list[Obj]:
    out = []
    for name, path, read_only, sub_path in mounts:
        mount: Obj = {"name": name, "mountPath": path, "readOnly": read_only}
        if sub_path:
            mount["subPath"] = sub_path
        out.append(mount)
    return out


def asterisk_container(spec: SamuTenantSpec) -> Obj:
    size = pbx_size(spec)
    return {
        "name": "asterisk",
        "image": spec.pbx.image,
        "args": ["-f", "-C", f"{contract.CONFIG_DIR}/asterisk.conf"],
        "ports": [
            {"name": "sip-udp", "containerPort": SIP_PORT, "protocol": "UDP"},
            {"name": "sip-tcp", "containerPort": SIP_PORT, "protocol": "TCP"},
            {"name": "metrics", "containerPort": METRICS_PORT, "protocol": "TCP"},
        ],
        "resources": {"requests": size, "limits": size},
        "readinessProbe": {
            "tcpSocket": {"port": SIP_PORT},
            "periodSeconds": 1,
            "failureThreshold": spec.failover.detection_seconds,
        },
        "livenessProbe": {"tcpSocket": {"port": SIP_PORT}, "periodSeconds": 5},
        "securityContext": _RESTRICTED,
        "volumeMounts": _mounts(PBX_MOUNTS),
    }


def shipper_container(tenant: str, spec: SamuTenantSpec, zone: str) -> Obj:
    """The recording shipper (samu_recordings, shared contract): ships MixMonitor's WAVs to
    the tenant's Swift container; store credentials from the Secret samu-recordings-store."""
    env = {
        "SAMU_SHIPPER_SOURCE": "pbx",
        "SAMU_SHIPPER_SPOOL": contract.RECORDINGS_DIR,
        "SAMU_SHIPPER_STATE": contract.SHIPPER_STATE_DIR,
        "SAMU_SHIPPER_TENANT": tenant,
        "SAMU_SHIPPER_ZONE": zone,
        "SAMU_SHIPPER_METRICS_PORT": str(SHIPPER_METRICS_PORT),
    }
    return {
        "name": "recording-shipper",
        "image": spec.pbx.sidecar_image,
        "command": ["python", "-m", "samu_recordings.shipper"],
        "env": [{"name": k, "value": v} for k, v in env.items()],
        # optional: a PBX must start even when the store's Secret is missing (calls before
        # recordings' shipping); the shipper then reports it (its metrics and alerts).
        "envFrom": [{"secretRef": {"name": RECORDINGS_STORE_SECRET, "optional": True}}],
        "ports": [
            {"name": "shipper-metrics", "containerPort": SHIPPER_METRICS_PORT, "protocol": "TCP"}
        ],
        "resources": {"requests": SHIPPER_SIZE, "limits": SHIPPER_SIZE},
        "securityContext": _RESTRICTED,
        "volumeMounts": _mounts(SHIPPER_MOUNTS),
    }


def reloader_container(spec: SamuTenantSpec) -> Obj:
    """Applies a configuration change without a restart: when the mounted ConfigMap changes,
    reloads the changed modules through Asterisk's remote console (its control socket)."""
    return {
        "name": "config-reloader",
        "image": spec.pbx.image,
        "command": [contract.RELOADER_COMMAND],
        "env": [
            {"name": "SAMU_PBX_CONFIG_DIR", "value": contract.CONFIG_DIR},
            {"name": "SAMU_PBX_SECRETS_DIR", "value": contract.SECRETS_DIR},
            {"name": "SAMU_PBX_RELOAD_SECONDS", "value": "2"},
        ],
        "resources": {"requests": RELOADER_SIZE, "limits": RELOADER_SIZE},
        "securityContext": _RESTRICTED,
        "volumeMounts": _mounts(RELOADER_MOUNTS),
    }


def abandoned_container(tenant: str, spec: SamuTenantSpec, zone: str) -> Obj:
    """Lists callers who hung up before an ARM answered for call-back: reads queue_log,
    writes the tenant's dropped-calls ledger (samu_operator.pbx.abandoned)."""
    env = {
        "SAMU_QUEUE_LOG": contract.QUEUE_LOG,
        "SAMU_ABANDONED_JOURNAL": ABANDONED_JOURNAL,
        "SAMU_TENANT": tenant,
        "SAMU_ZONE": zone,
        "SAMU_ABANDONED_SECONDS": "2",
    }
    return {
        "name": "abandoned-calls",
        "image": spec.pbx.sidecar_image,
        "command": ["python", "-m", "samu_operator.pbx.abandoned"],
        "env": [{"name": k, "value": v} for k, v in env.items()],
        "resources": {"requests": ABANDONED_SIZE, "limits": ABANDONED_SIZE},
        "securityContext": _RESTRICTED,
        "volumeMounts": _mounts(ABANDONED_MOUNTS),
    }


def api_token_volume() -> Obj:
    """The ServiceAccount token, for the abandoned-call reader only (the pod does not
    automount it: Asterisk and the other sidecars never see it)."""
    return {
        "name": "api-token",
        "projected": {
            "sources": [
                {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}},
                {
                    "configMap": {
                        "name": "kube-root-ca.crt",
                        "items": [{"key": "ca.crt", "path": "ca.crt"}],
                    }
                },
                {
                    "downwardAPI": {
                        "items": [
                            {"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}
                        ]
                    }
                },
            ]
        },
    }
