"""Desired state of a tenant: SamuTenant -> the Kubernetes objects that make its telephony.

Pure: the handlers apply what this returns, ``samuctl tenant render`` prints it, tests validate
it against Kubernetes' own schemas. Every object carries the tenant's labels; every object but
the Namespace and the recording PVCs is owned by the tenant (ownerReference). Those two are left
unowned on purpose: Kubernetes' garbage collector must never be able to delete recordings, even
if someone strips the finalizer; the operator deletes them itself only when
``spec.recording.deleteWithTenant`` is true. The NetworkPolicies are built in ``netpol``,
the metadata and ports every object shares in ``meta``.
"""

import base64
from collections.abc import Mapping
from dataclasses import dataclass

from samu_operator.core import asterisk, labels, pbx_pod, positions, rollout
from samu_operator.core import pbx_contract as contract
from samu_operator.core.meta import SIP_PORT, Obj, namespace_of, object_meta
from samu_operator.core.netpol import network_policies
from samu_operator.core.sizing import (
    cpu_millis,
    cpu_text,
    memory_mi,
    memory_text,
    pbx_size,
    recording_size_gi,
)
from samu_operator.model.tenant import API_GROUP, API_VERSION, KIND, SamuTenant, SamuTenantSpec

CONFIG_NAME = "pbx-config"
SECRET_NAME = "sip-credentials"
SECRET_KEY = "pjsip-auth.conf"
ACTIVE_SERVICE = "pbx-active"
SERVICE_ACCOUNT = "pbx"
#: The rendered files only a restart applies (the others are reloaded: pbx_contract).
RESTART_FILES = tuple(f for f, c in contract.RELOAD_COMMANDS.items() if c == "restart")
#: The StorageClass of the recording volumes: the platform's encrypted, zone-aware class
#: (infra/samu_infra/addons.py declares it on every cluster). Another cluster may name its
#: own through the operator's environment (STORAGE_CLASS_ENV, chart ``operator.extraEnv``).
STORAGE_CLASS = "samu-encrypted"
STORAGE_CLASS_ENV = "SAMU_STORAGE_CLASS"
#: The recording store's credential (the shipper's contract): the operator copies it into
#: each tenant's namespace from its own environment, where the kubelet injects it from the
#: Secret of the same name in the operator's namespace (chart ``recordingStore.secretName``).
#: So the operator writes this Secret but never reads one through the API (its RBAC has no
#: get/list/watch on Secrets).
STORE_SECRET_NAME = "samu-recordings-store"
STORE_SECRET_KEYS = (
    "OS_AUTH_URL",
    "OS_AUTH_TYPE",
    "OS_APPLICATION_CREDENTIAL_ID",
    "OS_APPLICATION_CREDENTIAL_SECRET",
    "OS_REGION_NAME",
    "SAMU_RECORDINGS_STORAGE_POLICY",
)


@dataclass(frozen=True)
class ApplyPolicy:
    """How the operator applies one object: ``create_only`` objects are never patched
    (the generated Secret); ``ignored`` paths belong to someone else (the failover part owns
    the active Service's selector) and never count as drift."""

    create_only: bool = False
    ignored: tuple[tuple[str, ...], ...] = ()


def pbx_name(zone: str) -> str:
    return f"pbx-{labels.zone_slug(zone)}"


def recordings_name(zone: str) -> str:
    return f"recordings-{labels.zone_slug(zone)}"


def _owned(obj: Obj, tenant: str, uid: str | None) -> Obj:
    if uid is not None:
        obj["metadata"]["ownerReferences"] = [
            {
                "apiVersion": f"{API_GROUP}/{API_VERSION}",
                "kind": KIND,
                "name": tenant,
                "uid": uid,
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
    return obj


def namespace(tenant: str) -> Obj:
    restricted = {
        f"pod-security.kubernetes.io/{mode}": "restricted" for mode in ("enforce", "audit", "warn")
    }
    meta = object_meta(tenant, namespace_of(tenant), namespaced=False, **restricted)
    meta["labels"]["pod-security.kubernetes.io/enforce-version"] = "latest"
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def resource_quota(tenant: str, spec: SamuTenantSpec) -> Obj:
    """Room for one PBX pod (Asterisk and its sidecars) per zone plus one rolling
    replacement, and the recording volumes."""
    pods = len(spec.pbx.zones) + 1
    sidecars = pbx_pod.SIDECAR_SIZES
    cpu_each = cpu_millis(spec.pbx.resources.cpu) + sum(cpu_millis(s["cpu"]) for s in sidecars)
    mem_each = memory_mi(spec.pbx.resources.memory) + sum(memory_mi(s["memory"]) for s in sidecars)
    cpu = cpu_each * pods
    mem = mem_each * pods
    storage = recording_size_gi(spec) * len(spec.pbx.zones)
    hard = {
        "pods": str(pods),
        "requests.cpu": cpu_text(cpu),
        "limits.cpu": cpu_text(cpu),
        "requests.memory": memory_text(mem),
        "limits.memory": memory_text(mem),
        "persistentvolumeclaims": str(len(spec.pbx.zones)),
        "requests.storage": f"{storage}Gi",
        "services.loadbalancers": "0",
        "services.nodeports": "0",
    }
    meta = object_meta(tenant, "tenant-quota")
    return {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": meta, "spec": {"hard": hard}}


def limit_range(tenant: str, spec: SamuTenantSpec) -> Obj:
    """Defaults for any container without resources: the PBX size (Guaranteed QoS)."""
    size = pbx_size(spec)
    limit = {"type": "Container", "default": size, "defaultRequest": size, "max": size}
    meta = object_meta(tenant, "tenant-limits")
    return {"apiVersion": "v1", "kind": "LimitRange", "metadata": meta, "spec": {"limits": [limit]}}


def service_account(tenant: str) -> Obj:
    meta = object_meta(tenant, SERVICE_ACCOUNT)
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta,
        "automountServiceAccountToken": False,
    }


def sip_secret(tenant: str, password: str | None) -> Obj:
    """The edge's PJSIP credentials. ``password`` None (render) leaves the data out: a secret
    is generated once by the operator, never printed, never overwritten."""
    secret: Obj = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": object_meta(tenant, SECRET_NAME),
        "type": "Opaque",
    }
    if password is not None:
        secret["stringData"] = {
            SECRET_KEY: "[edge-auth]\ntype = auth\nauth_type = userpass\n"
            f"username = {tenant}\npassword = {password}\n"
        }
    return secret


def position_key_secret(tenant: str, key: str | None) -> Obj:
    """The key the positions' passwords derive from (see ``positions``): generated once,
    create-only like the SIP Secret, never printed (``key`` None leaves the data out)."""
    secret: Obj = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": object_meta(tenant, positions.KEY_SECRET),
        "type": "Opaque",
    }
    if key is not None:
        secret["stringData"] = {positions.KEY_FIELD: key}
    return secret


def position_secrets(tenant: SamuTenant, key: str, uid: str | None = None) -> list[Obj]:
    """The Secrets derived from the live key: the phones' passwords and, for the edge,
    the HA1 hashes and site ranges. Deterministic: re-applying them changes nothing."""
    name, spec = tenant.name, tenant.spec
    contents = {
        positions.PASSWORDS_SECRET: positions.passwords(name, spec, key),
        positions.EDGE_SECRET: {
            positions.EDGE_POSITIONS_KEY: positions.edge_table(name, spec, key),
            positions.EDGE_RANGES_KEY: positions.site_ranges(spec),
        },
    }
    out = []
    for secret_name, data in contents.items():
        encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        secret = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": object_meta(name, secret_name),
            "type": "Opaque",
            "data": encoded,
        }
        out.append(_owned(secret, name, uid))
    return out


#: The ClusterRole the operator chart installs for the PBX pods' abandoned-call reader: the
#: call-back ledger (core.dropped: one ConfigMap) and its Events. Bound in each tenant's
#: Namespace only; the operator holds every permission in it (it grants nothing it lacks).
LEDGER_CLUSTER_ROLE = "samu-pbx-call-back-ledger"
LEDGER_BINDING = "pbx-call-back-ledger"


def ledger_binding(tenant: str) -> Obj:
    """Binds the ledger ClusterRole to the PBX pods' ServiceAccount, in the tenant's Namespace."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": object_meta(tenant, LEDGER_BINDING),
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": LEDGER_CLUSTER_ROLE,
        },
        "subjects": [
            {"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": namespace_of(tenant)}
        ],
    }


def store_data_from(env: Mapping[str, str]) -> dict[str, str] | None:
    """The store Secret's data from an environment; None unless every key is set."""
    data = {k: env[k] for k in STORE_SECRET_KEYS if env.get(k)}
    return data if len(data) == len(STORE_SECRET_KEYS) else None


def recordings_store_secret(tenant: str, data: Mapping[str, str]) -> Obj:
    """The tenant's copy of the store credential, for its PBX's shipper (``envFrom``)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": object_meta(tenant, STORE_SECRET_NAME),
        "type": "Opaque",
        "stringData": {k: str(data[k]) for k in STORE_SECRET_KEYS},
    }


def config_map(
    tenant: str, spec: SamuTenantSpec, edge_cidrs: tuple[str, ...] = contract.EDGE_SOURCE_CIDRS
) -> Obj:
    meta = object_meta(tenant, CONFIG_NAME)
    data = asterisk.render(tenant, spec, edge_cidrs)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def recordings_pvc(
    tenant: str, spec: SamuTenantSpec, zone: str, storage_class: str = STORAGE_CLASS
) -> Obj:
    meta = object_meta(tenant, recordings_name(zone), **{labels.ZONE: zone})
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": meta,
        "spec": {
            "storageClassName": storage_class,
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": f"{recording_size_gi(spec)}Gi"}},
        },
    }


def statefulset(tenant: str, spec: SamuTenantSpec, zone: str) -> Obj:
    """One PBX in one zone, pinned there by required node affinity."""
    selector = labels.pbx_selector(tenant, zone)
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {
                        "matchExpressions": [
                            {"key": labels.NODE_ZONE, "operator": "In", "values": [zone]}
                        ]
                    }
                ]
            }
        }
    }
    volumes = [
        {"name": "config", "configMap": {"name": CONFIG_NAME}},
        {"name": "secrets", "secret": {"secretName": SECRET_NAME}},
        {"name": "recordings", "persistentVolumeClaim": {"claimName": recordings_name(zone)}},
        *({"name": name, "emptyDir": {}} for name in ("spool", "run", "db")),
        pbx_pod.api_token_volume(),
    ]
    pod_spec = {
        "serviceAccountName": SERVICE_ACCOUNT,
        "automountServiceAccountToken": False,
        "affinity": affinity,
        "terminationGracePeriodSeconds": 120,
        "securityContext": {
            "runAsNonRoot": True,
            "runAsUser": contract.UID,
            "runAsGroup": contract.GID,
            "fsGroup": contract.GID,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "containers": [
            pbx_pod.asterisk_container(spec),
            pbx_pod.shipper_container(tenant, spec, zone),
            pbx_pod.reloader_container(spec),
            pbx_pod.abandoned_container(tenant, spec, zone),
        ],
        "volumes": volumes,
    }
    meta = object_meta(tenant, pbx_name(zone), **{labels.ZONE: zone, labels.COMPONENT: labels.PBX})
    files = asterisk.render(tenant, spec)
    revision = rollout.revision(pod_spec, {f: files[f] for f in RESTART_FILES})
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": meta,
        "spec": {
            "replicas": 1,
            "serviceName": pbx_name(zone),
            "podManagementPolicy": "Parallel",
            # Kubernetes never restarts a PBX on its own: core/rollout.py decides the order
            # (standbys first, then a planned switchover, then the old active).
            "updateStrategy": {"type": "OnDelete"},
            "selector": {"matchLabels": selector},
            "template": {
                "metadata": {
                    "labels": labels.tenant_labels(tenant) | selector | {rollout.REVISION: revision}
                },
                "spec": pod_spec,
            },
        },
    }


def wanted_revisions(objects: list[Obj]) -> dict[str, str]:
    """zone -> the PBX revision its StatefulSet asks for (from the desired objects)."""
    return {
        o["metadata"]["labels"][labels.ZONE]: o["spec"]["template"]["metadata"]["labels"][
            rollout.REVISION
        ]
        for o in objects
        if o["kind"] == "StatefulSet"
    }


def _service(tenant: str, name: str, selector: dict[str, str], headless: bool, **extra: str) -> Obj:
    spec: Obj = {
        "selector": selector,
        "ports": [
            {"name": "sip-udp", "port": SIP_PORT, "targetPort": SIP_PORT, "protocol": "UDP"},
            {"name": "sip-tcp", "port": SIP_PORT, "targetPort": SIP_PORT, "protocol": "TCP"},
        ],
    }
    if headless:
        spec |= {"clusterIP": "None", "publishNotReadyAddresses": False}
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": object_meta(tenant, name, **extra),
        "spec": spec,
    }


def active_selector(tenant: str, epoch: int) -> dict[str, str]:
    """Selects the active PBX of one epoch only: a fenced or stale active never matches."""
    return {labels.TENANT: tenant, labels.ROLE: "active", labels.EPOCH: str(epoch)}


def services(tenant: str, spec: SamuTenantSpec, epoch: int) -> list[Obj]:
    out = [_service(tenant, ACTIVE_SERVICE, active_selector(tenant, epoch), headless=False)]
    for zone in spec.pbx.zones:
        selector = labels.pbx_selector(tenant, zone)
        out.append(_service(tenant, pbx_name(zone), selector, headless=True, **{labels.ZONE: zone}))
    return out


def pod_disruption_budget(tenant: str) -> Obj:
    """Voluntary disruptions (node drains) take one PBX of the tenant at a time."""
    selector = {labels.TENANT: tenant, labels.COMPONENT: labels.PBX}
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": object_meta(tenant, "pbx"),
        "spec": {"maxUnavailable": 1, "selector": {"matchLabels": selector}},
    }


def desired_objects(
    tenant: SamuTenant,
    *,
    uid: str | None = None,
    sip_password: str | None = None,
    position_key: str | None = None,
    storage_class: str = STORAGE_CLASS,
    store_data: Mapping[str, str] | None = None,
    edge_cidrs: tuple[str, ...] = contract.EDGE_SOURCE_CIDRS,
) -> list[Obj]:
    """Every object of the tenant, in the order to create them (Namespace first).

    ``store_data`` (the operator's copy of the store credential) adds the tenant's
    ``samu-recordings-store`` Secret; None (``samuctl tenant render``) leaves it out.
    ``edge_cidrs``: the cluster's pod networks, where the PBX takes the edge's requests from.
    """
    name, spec = tenant.name, tenant.spec
    epoch = tenant.status.epoch if tenant.status else 0
    owned = [
        resource_quota(name, spec),
        limit_range(name, spec),
        *network_policies(name),
        service_account(name),
        ledger_binding(name),
        sip_secret(name, sip_password),
        position_key_secret(name, position_key),
        *([recordings_store_secret(name, store_data)] if store_data else []),
        config_map(name, spec, edge_cidrs),
        *[statefulset(name, spec, zone) for zone in spec.pbx.zones],
        *services(name, spec, epoch),
        pod_disruption_budget(name),
    ]
    pvcs = [recordings_pvc(name, spec, zone, storage_class) for zone in spec.pbx.zones]
    return [namespace(name), *pvcs, *[_owned(obj, name, uid) for obj in owned]]


#: Secrets recomputed from the live key at every reconcile (never generated): patched back.
DERIVED_SECRETS = (positions.PASSWORDS_SECRET, positions.EDGE_SECRET)


def apply_policy(obj: Obj) -> ApplyPolicy:
    """Generated Secrets are create-only (never overwritten); derived ones are kept equal to
    what the key derives; the active Service's selector belongs to the failover part."""
    kind, name = obj["kind"], obj["metadata"]["name"]
    if kind == "Secret":
        return ApplyPolicy(create_only=name not in DERIVED_SECRETS)
    if kind == "Service" and name == ACTIVE_SERVICE:
        return ApplyPolicy(ignored=(("spec", "selector"),))
    return ApplyPolicy()


def is_retained(obj: Obj, delete_recordings: bool) -> bool:
    """Objects kept when the tenant is deleted: its recordings and the Namespace holding them,
    unless the spec says to delete recordings (both are unowned, see the module's docstring)."""
    return not delete_recordings and obj["kind"] in {"Namespace", "PersistentVolumeClaim"}
