"""The desired state of a tenant: valid Kubernetes objects, labelled, owned, isolated."""

import kubernetes_validate
import pytest

from samu_operator.core import desired, labels, netpol, sizing
from samu_operator.model import validate_tenant
from tests.operator.harness import example

EXAMPLES = ("samu-30", "samu-13", "samu-2a", "samu-974")
K8S_VERSION = kubernetes_validate.latest_version()  # the newest schemas the package ships


def objects(name, **kwargs):
    return desired.desired_objects(validate_tenant(example(name)), **kwargs)


def by_kind(objs, kind):
    return [o for o in objs if o["kind"] == kind]


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_object_validates_against_kubernetes_schemas(name):
    for obj in objects(name, uid="0e7f1c3a-1111-4222-8333-444455556666", sip_password="s3cret"):
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)


def test_validation_catches_a_broken_object():
    """The check above can fail: a misspelt field is refused."""
    sts = by_kind(objects("samu-30"), "StatefulSet")[0]
    sts["spec"]["replicaz"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(sts, K8S_VERSION, strict=True)


@pytest.mark.parametrize("name", EXAMPLES)
def test_labelled_and_owned(name):
    uid = "uid-1"
    for obj in objects(name, uid=uid):
        meta = obj["metadata"]
        assert meta["labels"][labels.TENANT] == name
        owners = meta.get("ownerReferences", [])
        if obj["kind"] in ("Namespace", "PersistentVolumeClaim"):
            assert owners == []  # never garbage-collected with the tenant
        else:
            assert owners == [
                {
                    "apiVersion": "samu-platform.io/v1alpha1",
                    "kind": "SamuTenant",
                    "name": name,
                    "uid": uid,
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ]
            assert meta["namespace"] == name


def test_expected_objects_for_three_zones():
    kinds = sorted((o["kind"], o["metadata"]["name"]) for o in objects("samu-30"))
    assert kinds == sorted(
        [
            ("Namespace", "samu-30"),
            ("ResourceQuota", "tenant-quota"),
            ("LimitRange", "tenant-limits"),
            ("NetworkPolicy", "default-deny"),
            ("NetworkPolicy", "allow-sip-from-edge"),
            ("NetworkPolicy", "allow-metrics-from-monitoring"),
            ("NetworkPolicy", "allow-within-tenant"),
            ("NetworkPolicy", "allow-egress-edge-and-dns"),
            ("ServiceAccount", "pbx"),
            ("RoleBinding", "pbx-call-back-ledger"),
            ("Secret", "sip-credentials"),
            ("Secret", "position-credentials"),
            ("ConfigMap", "pbx-config"),
            ("PodDisruptionBudget", "pbx"),
            ("Service", "pbx-active"),
            *[
                (k, f"{p}-{z}")
                for z in ("fr-par-1a", "fr-par-1b", "fr-par-1c")
                for k, p in (("StatefulSet", "pbx"), ("Service", "pbx"))
            ],
            *[
                ("PersistentVolumeClaim", f"recordings-{z}")
                for z in ("fr-par-1a", "fr-par-1b", "fr-par-1c")
            ],
        ]
    )
    assert objects("samu-30")[0]["kind"] == "Namespace", "the Namespace is created first"


def test_namespace_enforces_restricted_pod_security():
    ns = by_kind(objects("samu-30"), "Namespace")[0]
    for mode in ("enforce", "audit", "warn"):
        assert ns["metadata"]["labels"][f"pod-security.kubernetes.io/{mode}"] == "restricted"


def test_pbx_statefulsets_pinned_to_their_zone_and_restricted():
    doc = example("samu-30")
    doc["spec"]["pbx"]["zones"] = ["eu-1a", "EU_1.b"]
    doc["spec"]["failover"]["preferredZones"] = []
    objs = desired.desired_objects(validate_tenant(doc))
    for sts, zone in zip(by_kind(objs, "StatefulSet"), ["eu-1a", "EU_1.b"], strict=True):
        pod = sts["spec"]["template"]
        term = pod["spec"]["affinity"]["nodeAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"
        ]
        assert term["nodeSelectorTerms"] == [
            {"matchExpressions": [{"key": labels.NODE_ZONE, "operator": "In", "values": [zone]}]}
        ]
        assert (
            pod["metadata"]["labels"] | labels.pbx_selector("samu-30", zone)
            == pod["metadata"]["labels"]
        )
        assert sts["spec"]["replicas"] == 1
        container = pod["spec"]["containers"][0]
        assert container["resources"]["requests"] == container["resources"]["limits"]  # Guaranteed
        ctx = container["securityContext"]
        assert ctx["runAsNonRoot"] and not ctx["allowPrivilegeEscalation"]
        assert ctx["capabilities"] == {"drop": ["ALL"]}
        vols = {v["name"]: v for v in pod["spec"]["volumes"]}
        assert vols["recordings"]["persistentVolumeClaim"]["claimName"] == desired.recordings_name(
            zone
        )
    names = [s["metadata"]["name"] for s in by_kind(objs, "StatefulSet")]
    assert names[0] == "pbx-eu-1a" and names[1].startswith("pbx-eu-1-b-")  # DNS-safe, no collision


def test_active_service_selects_role_and_epoch():
    doc = example("samu-30") | {"status": {"epoch": 7, "activeZone": "b"}}
    svc = next(
        o
        for o in desired.desired_objects(validate_tenant(doc))
        if o["metadata"]["name"] == "pbx-active"
    )
    assert svc["spec"]["selector"] == {
        labels.TENANT: "samu-30",
        labels.ROLE: "active",
        labels.EPOCH: "7",
    }
    assert desired.apply_policy(svc).ignored == (("spec", "selector"),)  # the failover part owns it


def test_network_isolation():
    policies = {
        o["metadata"]["name"]: o["spec"] for o in by_kind(objects("samu-30"), "NetworkPolicy")
    }
    assert policies["default-deny"] == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    sources = []
    for spec in policies.values():
        for rule in spec.get("ingress", []):
            sources += rule["from"]
    namespaces = {
        s["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
        for s in sources
        if "namespaceSelector" in s
    }
    assert namespaces == {netpol.EDGE_NAMESPACE, netpol.MONITORING_NAMESPACE}
    pod_sources = [s["podSelector"]["matchLabels"] for s in sources if "podSelector" in s]
    assert pod_sources == [{labels.TENANT: "samu-30"}]  # a podSelector alone: own Namespace only
    sip = policies["allow-sip-from-edge"]["ingress"][0]["ports"]
    assert {"protocol": "UDP", "port": 5060} in sip


def test_secret_generated_by_operator_only():
    secret = by_kind(objects("samu-30"), "Secret")[0]
    assert "stringData" not in secret and "data" not in secret  # render prints no secret
    secret = by_kind(objects("samu-30", sip_password="pw"), "Secret")[0]
    assert "password = pw" in secret["stringData"][desired.SECRET_KEY]
    assert desired.apply_policy(secret).create_only


def test_quota_sized_from_capacity_and_pbx():
    small = by_kind(objects("samu-2a"), "ResourceQuota")[0]["spec"]["hard"]
    large = by_kind(objects("samu-13"), "ResourceQuota")[0]["spec"]["hard"]
    assert small["pods"] == "4" and small["persistentvolumeclaims"] == "3"
    # (4 cores + the shipper's 250m + the reloader's and the abandoned-call reader's 50m)
    # x (3 zones + 1 rolling replacement)
    assert large["limits.cpu"] == "17400m"
    assert large["limits.memory"] == "34560Mi"  # (8Gi + 256Mi + 64Mi + 128Mi) x 4
    # The quota holds exactly the pods' containers (a sidecar left out would never schedule).
    sts = by_kind(objects("samu-13"), "StatefulSet")[0]
    containers = sts["spec"]["template"]["spec"]["containers"]
    pod_cpu = sum(sizing.cpu_millis(c["resources"]["limits"]["cpu"]) for c in containers)
    assert sizing.cpu_millis(large["limits.cpu"]) == pod_cpu * 4
    assert int(large["requests.storage"][:-2]) > int(small["requests.storage"][:-2])
    assert small["services.loadbalancers"] == "0"


@pytest.mark.parametrize(
    ("cpu", "text"), [("2", "2"), ("500m", "500m"), ("0.5", "500m"), ("1.25", "1250m")]
)
def test_quantities_are_canonical(cpu, text):
    assert sizing.cpu_text(sizing.cpu_millis(cpu)) == text


def test_retention_rule():
    ns, pvc, sts = (
        by_kind(objects("samu-30"), k)[0]
        for k in ("Namespace", "PersistentVolumeClaim", "StatefulSet")
    )
    assert desired.is_retained(ns, False) and desired.is_retained(pvc, False)
    assert not desired.is_retained(sts, False)
    assert not desired.is_retained(pvc, True)
