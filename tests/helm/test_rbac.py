"""Least privilege, proven: the chart's RBAC grants exactly the calls the operator makes.

The real operator (Kopf, started with the chart's own arguments and peering) runs a scenario
against the emulated API server, which records every request: onboarding (with a partner),
a spec update, drift correction, a failover on an unready pod, a planned switchover and the
deletion of two tenants (recordings kept, recordings deleted). The ClusterRole must grant each (verb, group, resource) seen and nothing else,
except the few calls listed in PRODUCTION_ONLY with the reason the scenario may not show them.
"""

import asyncio
import json
import os
import re
import socket
import subprocess
import sys

import pytest
from kopf.testing import KopfRunner

from samu_operator import kube
from samu_operator.core import positions
from samu_operator.core.desired import DERIVED_SECRETS, SECRET_NAME, STORE_SECRET_NAME
from samu_operator.core.fencing import SWITCHOVER_ANNOTATION
from samu_operator.edge.files import DROPPED_FILE
from samu_operator.sim.kubelet import EmulatedCluster
from tests.helm import rbac
from tests.helm.charts import EDGE_CHART, OPERATOR_CHART, bound_cluster_role, render
from tests.operator.harness import TENANTS, apply, tenant, tenant_doc, wait_for

#: Granted although the scenario may not show them, each with why production needs it.
PRODUCTION_ONLY: dict[rbac.Grant, str] = {
    ("list", "apiextensions.k8s.io", "customresourcedefinitions"): (
        "Kopf scans CRDs at start; the emulator serves no apiextensions group"
    ),
    ("watch", "apiextensions.k8s.io", "customresourcedefinitions"): (
        "Kopf notices the peering CRD appearing after start; without it a replica that started"
        " first stays paused until restarted"
    ),
    ("get", "samu-platform.io", "samutenants"): (
        "drift correction on a child event reads its tenant afresh (handlers/children.py);"
        " in the scenario the periodic re-check often corrects the drift first"
    ),
    ("delete", "", "pods"): (
        "a change only a restart applies restarts one standby PBX at a time (handlers/rollout.py);"
        " the scenario moves on before; tests/operator/test_e2e_pbx_changes.py shows it"
    ),
    ("patch", "rbac.authorization.k8s.io", "rolebindings"): (
        "puts back the PBX pods' ledger binding edited by hand; the scenario's drift step"
        " edits other kinds"
    ),
}

# A recorded sample (api_calls() of an earlier run, abridged) to test the comparison itself.
SAMPLE_CALLS = [
    ("list", "samu-platform.io/v1alpha1/samutenants", "cluster"),
    ("watch", "samu-platform.io/v1alpha1/samutenants", "cluster"),
    ("patch", "samu-platform.io/v1alpha1/samutenants/status", "cluster"),
    ("create", "v1/namespaces", "cluster"),
    ("create", "apps/v1/statefulsets", "namespaced"),
    ("watch", "v1/pods", "cluster"),
    ("patch", "kopf.dev/v1/clusterkopfpeerings", "cluster"),
]


def test_comparison_on_a_recorded_sample():
    needed = rbac.observed_grants(SAMPLE_CALLS)
    assert ("patch", "samu-platform.io", "samutenants/status") in needed
    assert ("create", "", "namespaces") in needed and ("create", "apps", "statefulsets") in needed
    rules = [
        {"apiGroups": ["samu-platform.io"], "resources": ["samutenants"], "verbs": ["list", "watch"]},
        {"apiGroups": [""], "resources": ["namespaces", "pods"], "verbs": ["create", "watch", "delete"]},
    ]  # fmt: skip
    missing, unused = rbac.compare(needed, rbac.granted(rules))
    assert ("patch", "samu-platform.io", "samutenants/status") in missing
    assert ("create", "apps", "statefulsets") in missing
    assert unused == {
        ("delete", "", "namespaces"),
        ("watch", "", "namespaces"),
        ("delete", "", "pods"),
        ("create", "", "pods"),
    }
    assert rbac.wildcards([{"apiGroups": ["*"], "resources": ["pods"], "verbs": ["get"]}]) == [
        "rules[0].apiGroups"
    ]


def test_operator_reads_no_secret_but_its_own_by_name():
    """list/watch on Secrets would let the operator read every Secret of the cluster (RBAC
    cannot scope them to tenant namespaces): it addresses the tenant's Secrets by name only,
    and patches only the derived ones (generated credentials are never overwritten)."""
    role = bound_cluster_role(render(OPERATOR_CHART))
    rules = [r for r in role["rules"] if "secrets" in r.get("resources", [])]
    assert rules, "the operator creates the tenants' SIP Secrets: it needs a rule for them"
    assert not {v for r in rules for v in r["verbs"]} & {"list", "watch", "update"}
    # generated once, or (the store copy) written from the operator's own environment
    generated = {SECRET_NAME, positions.KEY_SECRET, STORE_SECRET_NAME}
    for rule in rules:
        if set(rule["verbs"]) == {"create"}:  # create cannot be limited by name
            continue
        names = set(rule.get("resourceNames") or ())
        assert names, rule
        assert names <= generated | set(DERIVED_SECRETS), rule
        if "patch" in rule["verbs"]:
            assert names == set(DERIVED_SECRETS), rule


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _chart_kopf_args() -> list[str]:
    """`kopf run` as the image runs it with the chart's arguments (liveness on loopback)."""
    (container,) = render(OPERATOR_CHART).one("Deployment")["spec"]["template"]["spec"][
        "containers"
    ]
    args = [
        re.sub(r"0\.0\.0\.0:\d+", f"127.0.0.1:{_free_port()}", arg) for arg in container["args"]
    ]
    return ["run", "--priority=100", *args]  # the entrypoint adds the per-pod priority


async def _settled(cluster: EmulatedCluster, name: str, zone: str) -> bool:
    status = (tenant(cluster, name) or {}).get("status") or {}
    return status.get("activeZone") == zone and status.get("phase") == "Ready"


#: Children edited by hand in the scenario: the operator must put each one back (a patch).
_DRIFT = (
    ("v1/limitranges", "tenant-limits", {"spec": {"limits": []}}),
    ("v1/serviceaccounts", "pbx", {"automountServiceAccountToken": True}),
    ("networking.k8s.io/v1/networkpolicies", "default-deny", {"spec": {"policyTypes": []}}),
    ("policy/v1/poddisruptionbudgets", "pbx", {"spec": {"maxUnavailable": 3}}),
)


async def _scenario(cluster: EmulatedCluster) -> None:
    """Onboard two tenants (one with a partner, one whose recordings go with it), then, two
    at a time to keep the test short: a spec update and a planned switchover; a deletion and
    a failover on an unready pod; then drift; the other deletion."""
    first, second = tenant_doc("30"), tenant_doc("13", partner="samu-30")
    second["spec"]["recording"]["deleteWithTenant"] = True
    for doc in (first, second):
        doc["spec"]["failover"]["minIntervalSeconds"] = 0
        await apply(cluster, doc)
    a, b = first["metadata"]["name"], second["metadata"]["name"]

    def status(name: str) -> dict:
        return (tenant(cluster, name) or {}).get("status") or {}

    def onboarded(name: str) -> bool:
        """Its objects applied and its first zone elected active (the operator's work, not
        the status bookkeeping, is what this test observes)."""
        applied = len(cluster.emulator.objects_of("apps/v1/statefulsets", name)) == 3
        return applied and status(name).get("activeZone") == "a"

    for name in (a, b):
        try:
            await wait_for(lambda n=name: onboarded(n), 40, f"{name} onboarded")
        except AssertionError as exc:
            raise AssertionError(f"{exc}; status: {status(name)}") from None
    # Update of a (capacity, a queue, the PBX image: quota, PBX config and StatefulSets
    # change) while b switches over to zone c on purpose.
    spec = tenant(cluster, a)["spec"]
    queues = [{**q, "maxWaitSeconds": q.get("maxWaitSeconds", 60) + 5} for q in spec["queues"]]
    image = spec["pbx"]["image"].rsplit(":", 1)[0] + ":20.10.1"
    generation = tenant(cluster, a)["metadata"].get("generation", 1) + 1

    def quota(name: str) -> object:
        return (cluster.emulator.read("v1/resourcequotas", name, "tenant-quota") or {}).get("spec")

    quota_before = quota(a)
    patch = {
        "spec": {
            "capacity": {"agents": 45, "maxConcurrentCalls": 130},
            "queues": queues,
            "pbx": {**spec["pbx"], "image": image},
        },
        "metadata": {"generation": generation},
    }
    await cluster.emulator.merge(TENANTS, None, a, patch)
    switch = {"metadata": {"annotations": {SWITCHOVER_ANNOTATION: "c"}}}
    await cluster.emulator.merge(TENANTS, None, b, switch)
    await wait_for(
        lambda: (
            quota(a) != quota_before
            and image in str(cluster.emulator.read("apps/v1/statefulsets", a, "pbx-c"))
        ),
        30,
        "update of samu-30 applied",
    )
    await wait_for(lambda: status(b).get("activeZone") == "c", 30, "switchover of samu-13")
    # Deletion of b (its recordings with it, as its spec says) while a's active PBX goes
    # unready. What counts is the operator's calls: wait for its work, not for the finalizer.
    await cluster.emulator.kubectl_delete(TENANTS, None, b)
    await cluster.kubelet.set_pod_ready(a, "pbx-a-0", False)
    await wait_for(lambda: status(a).get("activeZone") == "b", 30, "failover of samu-30")
    await wait_for(
        lambda: cluster.emulator.read("v1/namespaces", None, b) is None, 30, "samu-13 removed"
    )
    # Drift on a, once it is quiet: a child deleted, children edited by hand.
    await cluster.emulator.kubectl_delete("v1/configmaps", a, "pbx-config")
    for key, child, edit in _DRIFT:
        await cluster.emulator.merge(key, a, child, edit)

    def drifted() -> list[str]:
        left = [
            f"{key} {child}"
            for key, child, edit in _DRIFT
            if _contains(cluster.emulator.read(key, a, child) or {}, edit)
        ]
        if cluster.emulator.read("v1/configmaps", a, "pbx-config") is None:
            left.append("v1/configmaps pbx-config (deleted)")
        return left

    try:
        await wait_for(lambda: not drifted(), 40, "drift corrected")
    except AssertionError as exc:
        raise AssertionError(f"{exc}: still drifted {drifted()}") from None
    # Deletion of a: its recordings (PVCs) and Namespace are kept.
    await cluster.emulator.kubectl_delete(TENANTS, None, a)
    await wait_for(
        lambda: not cluster.emulator.objects_of("apps/v1/statefulsets", a), 30, "samu-30 removed"
    )


def _contains(live: dict, edit: dict) -> bool:
    """Whether the hand edit is still in the live object."""
    for key, value in edit.items():
        if isinstance(value, dict):
            if not isinstance(live.get(key), dict) or not _contains(live[key], value):
                return False
        elif live.get(key) != value:
            return False
    return True


@pytest.mark.e2e
async def test_chart_rbac_equals_the_operators_calls(monkeypatch):
    import samu_operator.handlers as handlers

    if "failover" not in getattr(handlers, "__all__", ()):
        pytest.skip("samu_operator.handlers does not load the failover handlers yet (issue 5)")
    monkeypatch.setenv("SAMU_OPERATOR_METRICS_PORT", "0")
    monkeypatch.setenv("SAMU_OPERATOR_RECHECK_SECONDS", "1")
    monkeypatch.setenv("SAMU_FAILOVER_RECHECK_SECONDS", "1")
    monkeypatch.setenv("SAMU_OPERATOR_PEERING_LIFETIME", "3")
    role = bound_cluster_role(render(OPERATOR_CHART))
    assert rbac.wildcards(role["rules"]) == []
    (peering,) = render(OPERATOR_CHART).of_kind("ClusterKopfPeering")
    async with EmulatedCluster() as cluster:
        await cluster.emulator.put(
            "kopf.dev/v1/clusterkopfpeerings",
            {"apiVersion": "kopf.dev/v1", "kind": "ClusterKopfPeering", "metadata": peering["metadata"]},
        )  # fmt: skip
        monkeypatch.setenv(kube.SERVER_ENV, cluster.url)
        kube.reset_shared()
        runner = KopfRunner(_chart_kopf_args(), timeout=60)
        await asyncio.to_thread(runner.__enter__)
        try:
            await _scenario(cluster)
        finally:
            await asyncio.to_thread(runner.__exit__, None, None, None)
        calls = cluster.emulator.api_calls()
    needed = rbac.observed_grants(calls)
    given = rbac.granted(role["rules"])
    missing, unused = rbac.compare(needed, given)
    assert missing == set(), f"the operator calls what the chart does not grant: {sorted(missing)}"
    assert unused <= set(PRODUCTION_ONLY), (
        "granted but never called (remove it, or list it in PRODUCTION_ONLY with why): "
        f"{sorted(unused - set(PRODUCTION_ONLY))}"
    )
    assert set(PRODUCTION_ONLY) <= given, "PRODUCTION_ONLY lists what the chart does not grant"


# --- the SIP edge's routing sidecar ---------------------------------------------------------


@pytest.mark.e2e
async def test_edge_chart_rbac_equals_the_sidecars_calls(tmp_path):
    """The sidecar exactly as the edge chart runs it (command, args, environment), in its own
    process (Kopf's registry is global: this pytest process has the operator's handlers),
    logging in through a kubeconfig like in a pod; Kamailio is absent (reloads are retried).
    Two dropped-call records written to its journal (as ``collect_dropped`` does) are
    published: ConfigMap get/create/patch and Events create."""
    rendered = render(EDGE_CHART)
    pod = rendered.one("Deployment")["spec"]["template"]["spec"]
    sidecar = next(c for c in pod["containers"] if c["name"] == "routing-sync")
    env = {e["name"]: e["value"] for e in sidecar["env"] if "value" in e}
    tables = tmp_path / "tables"
    env["SAMU_EDGE_DIR"] = str(tables)
    env["SAMU_EDGE_RPC_URL"] = f"http://127.0.0.1:{_free_port()}/RPC"
    role = rendered.one("ClusterRole")
    assert rbac.wildcards(role["rules"]) == []
    async with EmulatedCluster() as cluster:
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
            f'clusters: [{{name: e, cluster: {{server: "{cluster.url}"}}}}]\n'
            "users: [{name: u, user: {}}]\n"
            "contexts: [{name: c, context: {cluster: e, user: u}}]\n"
        )
        command = [sys.executable, "-m", *sidecar["command"], *sidecar["args"]]
        assert sidecar["command"] == ["kopf"]
        full_env = {**os.environ, **env, "KUBECONFIG": str(kubeconfig)}
        full_env.pop(kube.SERVER_ENV, None)
        with (tmp_path / "sidecar.log").open("w") as log:
            proc = subprocess.Popen(command, env=full_env, stdout=log, stderr=subprocess.STDOUT)
            try:
                await apply(cluster, tenant_doc("30"))
                routing = tables / "routing"
                await wait_for(
                    lambda: routing.exists() and "samu-30" in routing.read_text(),
                    30,
                    "the sidecar wrote samu-30's routes",
                )
                # answered calls lost with a PBX, as collect_dropped journals them: the first
                # creates samu-30's ConfigMap, the second patches it; one Event each
                for n in (1, 2):
                    await _journal_dropped_call(tables, n)
                    await wait_for(
                        lambda n=n: len(_dropped_calls(cluster)) == n,
                        30,
                        f"dropped call {n} published",
                    )
            finally:
                proc.terminate()
                await asyncio.to_thread(proc.wait, 30)
        calls = cluster.emulator.api_calls()
    missing, unused = rbac.compare(rbac.observed_grants(calls), rbac.granted(role["rules"]))
    assert missing == set(), (tmp_path / "sidecar.log").read_text()[-2000:]
    assert unused == set()


async def _journal_dropped_call(tables, n: int) -> None:
    record = {"callId": f"c{n}@edge", "at": 1795665600.0 + n, "tenant": "samu-30", "caller": "1"}
    with (tables / DROPPED_FILE).open("a") as journal:
        journal.write(json.dumps(record) + "\n")


def _dropped_calls(cluster: EmulatedCluster) -> dict:
    cm = cluster.emulator.read("v1/configmaps", "samu-30", "dropped-calls") or {}
    return cm.get("data") or {}
