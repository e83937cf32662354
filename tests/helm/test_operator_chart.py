"""The samu-operator chart, linted and rendered by Helm's own Go SDK (no helm binary here)."""

import json
import re

import kubernetes_validate
import pytest
import yaml

from samu_operator.core.desired import LEDGER_CLUSTER_ROLE
from samu_operator.model.tenant import API_GROUP, PLURAL
from tests.helm.charts import (
    NAMESPACE,
    OLDEST_KUBE,
    OPERATOR_CHART,
    REQUIRED_LABELS,
    HelmError,
    bound_cluster_role,
    helm,
    render,
    selects,
)
from tests.helm.podsecurity import restricted_violations

ALL_ON = {
    "serviceMonitor": {"enabled": True},
    "prometheusRule": {"enabled": True},
    "dashboards": {"enabled": True},
}
#: Kinds with no schema in kubernetes-validate (CRDs of other projects): shape checked by hand.
FOREIGN_KINDS = {"ServiceMonitor", "PodMonitor", "PrometheusRule", "ClusterKopfPeering"}


@pytest.mark.parametrize("values", [{}, ALL_ON], ids=["defaults", "all-enabled"])
@pytest.mark.parametrize("kube", [None, f"v{OLDEST_KUBE}"], ids=["newest", "oldest"])
def test_helm_lint_strict_is_clean(values, kube):
    report = helm("lint", OPERATOR_CHART, values, kube_version=kube)
    problems = [m for m in report["messages"] if m["severity"] >= 2]  # warnings and errors
    assert problems == [] and report["errors"] == []


@pytest.mark.parametrize("values", [{}, ALL_ON], ids=["defaults", "all-enabled"])
@pytest.mark.parametrize("kube", [kubernetes_validate.latest_version(), OLDEST_KUBE])
def test_every_object_validates_against_kubernetes_schemas(values, kube):
    for template, obj in render(OPERATOR_CHART, values).objects:
        if obj["kind"] in FOREIGN_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, kube, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{template}: {obj['kind']} {obj['metadata']['name']}: {exc}")


@pytest.mark.parametrize("values", [{}, ALL_ON], ids=["defaults", "all-enabled"])
def test_every_object_carries_the_standard_labels(values):
    for template, obj in render(OPERATOR_CHART, values).objects:
        labels = obj["metadata"].get("labels", {})
        missing = [k for k in REQUIRED_LABELS if k not in labels]
        assert not missing, f"{template}: {obj['kind']} lacks {missing}"
        assert labels["app.kubernetes.io/part-of"] == "samu-platform"


def test_default_objects_and_optional_ones():
    default = render(OPERATOR_CHART).kinds()
    assert default == {
        "ServiceAccount",
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "NetworkPolicy",
        "CustomResourceDefinition",
        "ClusterKopfPeering",
    }
    everything = render(OPERATOR_CHART, ALL_ON).kinds()
    assert everything - default == {"ServiceMonitor", "PodMonitor", "PrometheusRule", "ConfigMap"}


def _deployment(values=None):
    return render(OPERATOR_CHART, values).one("Deployment")


def test_deployment_spreads_two_replicas_over_zones():
    dep = _deployment()
    assert dep["spec"]["replicas"] == 2
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    zone = [
        c
        for c in dep["spec"]["template"]["spec"]["topologySpreadConstraints"]
        if c["topologyKey"] == "topology.kubernetes.io/zone"
    ]
    assert len(zone) == 1
    assert zone[0]["whenUnsatisfiable"] == "DoNotSchedule" and zone[0]["maxSkew"] == 1
    assert selects(zone[0]["labelSelector"]["matchLabels"], pod_labels)
    assert selects(dep["spec"]["selector"]["matchLabels"], pod_labels)
    # A rolling update never leaves fewer replicas than asked.
    assert dep["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_deployment_is_pod_security_restricted():
    pod = _deployment()["spec"]["template"]["spec"]
    assert restricted_violations(pod) == []
    (container,) = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["securityContext"]["runAsUser"] != 0


def _args(container) -> dict[str, str]:
    """`--key=value` arguments as a dict (flags map to '')."""
    out = {}
    for arg in container["args"]:
        key, _, value = arg.partition("=")
        out[key] = value
    return out


def test_kopf_runs_cluster_wide_with_peering_liveness_and_the_handlers():
    rendered = render(OPERATOR_CHART)
    (container,) = _deployment()["spec"]["template"]["spec"]["containers"]
    args = _args(container)
    assert "--all-namespaces" in args
    assert args["--module"] == "samu_operator.handlers"
    (peering,) = rendered.of_kind("ClusterKopfPeering")
    assert args["--peering"] == peering["metadata"]["name"]
    # The peering object is created after its CRD (a post-install hook) and never deleted.
    assert peering["metadata"]["annotations"]["helm.sh/hook"] == "post-install"
    crd = rendered.one("CustomResourceDefinition")
    assert (
        crd["spec"]["names"]["kind"] == "ClusterKopfPeering" and crd["spec"]["scope"] == "Cluster"
    )


def test_probes_hit_kopfs_liveness_endpoint():
    (container,) = _deployment()["spec"]["template"]["spec"]["containers"]
    liveness = re.fullmatch(r"http://0\.0\.0\.0:(\d+)(/.*)", _args(container)["--liveness"])
    assert liveness, "kopf --liveness must listen on all addresses"
    port, path = int(liveness[1]), liveness[2]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    for probe in ("livenessProbe", "readinessProbe"):
        get = container[probe]["httpGet"]
        assert ports[get["port"]] == port and get["path"] == path


def test_handlers_module_exists():
    import importlib.util

    module = render(OPERATOR_CHART).one("Deployment")["spec"]["template"]["spec"]["containers"][0][
        "args"
    ]
    name = _args({"args": module})["--module"]
    assert importlib.util.find_spec(name) is not None, f"{name} is not importable"


def test_metrics_service_and_servicemonitor_reach_the_metrics_port():
    rendered = render(OPERATOR_CHART, ALL_ON)
    dep = rendered.one("Deployment")
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    (container,) = dep["spec"]["template"]["spec"]["containers"]
    port_names = {p["name"] for p in container["ports"]}
    env = {e["name"]: e.get("value") for e in container["env"]}
    metrics_port = next(p for p in container["ports"] if p["name"] == "metrics")
    # The operator reads its metrics port from this variable (samu_operator.metrics).
    from samu_operator import metrics

    assert env[metrics.PORT_ENV] == str(metrics_port["containerPort"])
    svc = rendered.one("Service")
    assert selects(svc["spec"]["selector"], pod_labels)
    assert {p["targetPort"] for p in svc["spec"]["ports"]} <= port_names
    monitor = rendered.one("ServiceMonitor")
    assert selects(monitor["spec"]["selector"]["matchLabels"], svc["metadata"]["labels"])
    assert monitor["spec"]["namespaceSelector"]["matchNames"] == [NAMESPACE]
    assert {e["port"] for e in monitor["spec"]["endpoints"]} <= {
        p["name"] for p in svc["spec"]["ports"]
    }


def test_pdb_keeps_one_replica_and_refuses_to_block_drains():
    rendered = render(OPERATOR_CHART)
    pdb = rendered.one("PodDisruptionBudget")
    pod_labels = rendered.one("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert selects(pdb["spec"]["selector"]["matchLabels"], pod_labels)
    assert pdb["spec"]["minAvailable"] == 1
    with pytest.raises(HelmError, match=r"podDisruptionBudget\.minAvailable"):
        helm("render", OPERATOR_CHART, {"podDisruptionBudget": {"minAvailable": 2}})


def test_networkpolicy_isolates_the_operator():
    rendered = render(OPERATOR_CHART, {"networkPolicy": {"apiServer": {"cidrs": ["10.0.0.1/32"]}}})
    policy = rendered.one("NetworkPolicy")
    dep = rendered.one("Deployment")
    assert selects(
        policy["spec"]["podSelector"]["matchLabels"], dep["spec"]["template"]["metadata"]["labels"]
    )
    assert set(policy["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    # Ingress: only the metrics port, only from the monitoring namespace.
    (ingress,) = policy["spec"]["ingress"]
    assert [p["port"] for p in ingress["ports"]] == ["metrics"]
    assert ingress["from"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "monitoring"
    }
    # Egress: the API server's address only when given; every rule names its ports.
    api = policy["spec"]["egress"][0]
    assert api["to"] == [{"ipBlock": {"cidr": "10.0.0.1/32"}}]
    assert all(rule.get("ports") for rule in policy["spec"]["egress"])


def test_prometheusrule_ships_the_alert_files_unchanged():
    rule = render(OPERATOR_CHART, ALL_ON).one("PrometheusRule")
    files = sorted((OPERATOR_CHART / "alerts").glob("*.rules.yaml"))
    assert len(files) >= 2  # the operator's and edge's, the recordings'
    groups = [g for f in files for g in yaml.safe_load(f.read_text())["groups"]]
    assert rule["spec"] == {"groups": groups}


def test_dashboard_configmap_carries_the_json_for_grafana():
    cm = render(OPERATOR_CHART, ALL_ON).one("ConfigMap")
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    (name, text), *_ = cm["data"].items()
    assert json.loads(text) == json.loads((OPERATOR_CHART / "dashboards" / name).read_text())


def test_optional_objects_follow_their_switches():
    off = render(
        OPERATOR_CHART,
        {
            "podDisruptionBudget": {"enabled": False},
            "networkPolicy": {"enabled": False},
            "rbac": {"create": False},
            "serviceAccount": {"create": False, "name": "existing"},
            "operator": {"createPeering": False, "peeringCRD": False},
        },
    )
    assert off.kinds() == {"Deployment", "Service"}
    assert off.one("Deployment")["spec"]["template"]["spec"]["serviceAccountName"] == "existing"


def test_image_is_pinned_and_digest_wins():
    (container,) = _deployment()["spec"]["template"]["spec"]["containers"]
    assert container["image"].endswith(":0.1.0")
    digest = "sha256:" + "a" * 64
    (container,) = _deployment({"image": {"digest": digest}})["spec"]["template"]["spec"][
        "containers"
    ]
    assert container["image"].endswith("@" + digest)


def test_notes_tell_the_next_step_with_existing_examples():
    notes = render(OPERATOR_CHART).notes
    assert "kubectl apply -f examples/samu-30.yaml" in notes
    for example in re.findall(r"examples/(samu-[\w-]+\.yaml)", notes):
        assert (OPERATOR_CHART / "examples" / example).exists()
    assert "kubectl get samu" in notes


def test_rbac_is_bound_to_the_operator_and_has_no_wildcards():
    rendered = render(OPERATOR_CHART)
    role = bound_cluster_role(rendered)
    binding = rendered.one("ClusterRoleBinding")
    sa = rendered.one("ServiceAccount")
    assert binding["roleRef"]["name"] == role["metadata"]["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": sa["metadata"]["name"], "namespace": NAMESPACE}
    ]
    for rule in role["rules"]:
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field], f"wildcard in {rule}"
        assert "resourceNames" not in rule or rule["resourceNames"]
    granted = {
        (g, r) for rule in role["rules"] for g in rule["apiGroups"] for r in rule["resources"]
    }
    assert (API_GROUP, PLURAL) in granted
    # Never the power to grant itself more: no bind, no escalate, no (Cluster)Role; only the
    # PBX pods' ledger binding, whose role holds nothing the operator itself lacks.
    rbac_rules = [r for r in role["rules"] if "rbac.authorization.k8s.io" in r["apiGroups"]]
    assert [r["resources"] for r in rbac_rules] in ([], [["rolebindings"]])
    assert not {v for r in rbac_rules for v in r["verbs"]} & {"bind", "escalate"}
    (ledger,) = [r for r in rendered.of_kind("ClusterRole") if r is not role]
    assert ledger["metadata"]["name"] == LEDGER_CLUSTER_ROLE
    mine = {
        (g, r, v)
        for rule in role["rules"]
        for g in rule["apiGroups"]
        for r in rule["resources"]
        for v in rule["verbs"]
    }
    for rule in ledger["rules"]:
        for g in rule["apiGroups"]:
            for r in rule["resources"]:
                for v in rule["verbs"]:
                    assert (g, r, v) in mine, f"the ledger role grants {(g, r, v)}"
