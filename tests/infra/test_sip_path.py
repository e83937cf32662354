"""The carrier's SIP-TLS path on a real cluster: floating IP:5061 -> Octavia -> every worker on
the edge chart's fixed node port -> Kamailio's 5061 in its pod; and the certificate Secret
Kamailio mounts, written from secure stack config before the edge release."""

import json
from typing import Any

import pytest
from pulumi_kubernetes.core.v1 import Namespace, Secret
from pulumi_kubernetes.helm.v3 import Release

from samu_infra import edge_release, offline
from samu_infra.inventory import Declared, Inventory
from samu_infra.offline import OfflineRun, run_offline
from samu_infra.runner import plan
from samu_infra.stackfile import parse_config
from samuctl.main import main
from tests.infra.conftest import config_of, run_of
from tests.infra.stackgen import PREFIX, REPO, stack_doc, write

STACKS = ["dev", "prod"]


def _edge_values(run: OfflineRun) -> dict[str, Any]:
    (release,) = [r for r in run.resources if r.kind == "Release" and r.name == "samu-edge"]
    return release.inputs["values"]


def _sip_members(run: OfflineRun, cluster: str = "telephony") -> list[Declared]:
    pools = [r for r in Inventory(run.resources).of_kind("Pool") if r.name == f"{cluster}-sip-edge"]
    (pool,) = pools
    return [m for m in Inventory(run.resources).of_kind("Member") if m.inputs["poolId"] == pool.id]


def _rules_admitting(run: OfflineRun, port: int) -> list[Declared]:
    return [
        r
        for r in Inventory(run.resources).of_kind("SecGroupRule")
        if r.inputs["direction"] == "ingress"
        and r.inputs.get("protocol") == "tcp"
        and r.inputs.get("portRangeMin") is not None
        and int(r.inputs["portRangeMin"]) <= port <= int(r.inputs["portRangeMax"])
    ]


def _assert_one_node_port(run: OfflineRun, cfg: Any) -> int:
    """LB members, the chart's NodePort and the workers' security group: one number."""
    values = _edge_values(run)
    assert values["service"]["type"] == "NodePort"
    assert values["service"]["externalTrafficPolicy"] == "Local"
    node_port = values["service"]["nodePorts"]["sipTls"]
    inv = Inventory(run.resources)
    workers = [
        p
        for p in inv.of_kind("Port")
        if p.tier == "k8s-worker" and p.marks().get("samu-cluster") == "telephony"
    ]
    members = _sip_members(run)
    assert len(members) == len(workers) > 0
    assert {int(m.inputs["protocolPort"]) for m in members} == {node_port}
    addresses = {run.resource_outputs[p.id]["allFixedIps"][0] for p in workers}
    assert {m.inputs["address"] for m in members} == addresses
    # The carrier side is unchanged: 5061 on the floating IP, from the carrier only.
    (listener,) = [r for r in inv.of_kind("Listener") if r.name == "telephony-sip-edge"]
    assert int(listener.inputs["protocolPort"]) == 5061
    assert listener.inputs["allowedCidrs"] == list(cfg.network.carrier_cidrs)
    # A trunk's TLS connection outlives Octavia's 50 s idle default (keep-alives every ~60 s).
    for timeout in ("timeoutClientData", "timeoutMemberData"):
        assert int(listener.inputs[timeout]) >= 10 * 60_000, timeout
    # The workers admit the node port, from the supernet (Octavia's amphorae) and only there,
    # through a group every worker port behind the LB carries.
    rules = [r for r in _rules_admitting(run, node_port) if r.inputs.get("remoteIpPrefix")]
    assert [r.inputs["remoteIpPrefix"] for r in rules] == [cfg.network.supernet]
    (group,) = {r.inputs["securityGroupId"] for r in rules}
    for port in workers:
        assert group in port.inputs["securityGroupIds"], port.name
    return node_port


@pytest.mark.parametrize("stack", STACKS)
def test_lb_members_chart_node_port_and_security_group_are_one_number(stack):
    cfg = config_of(stack)
    assert _assert_one_node_port(run_of(stack), cfg) == cfg.edge.sip_tls_node_port


def test_changing_the_node_port_moves_members_rule_and_service_together():
    doc = stack_doc("dev")
    doc["config"][f"{PREFIX}edge"]["sipTlsNodePort"] = 31234
    cfg = parse_config(doc["config"], "dev", REPO)
    run = run_offline(cfg, "dev", REPO)
    assert _assert_one_node_port(run, cfg) == 31234
    old = config_of("dev").edge.sip_tls_node_port
    # The old port is closed to the LB (only the nodes' own peer rules, by group, cover it).
    assert [r for r in _rules_admitting(run, old) if r.inputs.get("remoteIpPrefix")] == []


@pytest.mark.parametrize("stack", STACKS)
def test_tls_secret_is_written_from_secure_config_in_samu_edge(stack):
    run = run_of(stack)
    (secret,) = [r for r in run.resources if r.kind == "Secret"]
    values = _edge_values(run)
    assert secret.type == "kubernetes:core/v1:Secret"
    assert secret.inputs["type"] == "kubernetes.io/tls"
    assert secret.inputs["metadata"]["namespace"] == "samu-edge"
    assert secret.inputs["metadata"]["name"] == values["sip"]["tls"]["secretName"]
    # From the decrypted config the engine hands over (the offline placeholders), as a secret.
    assert secret.inputs["stringData"] == {
        "tls.crt": offline.PLACEHOLDER,
        "tls.key": offline.PLACEHOLDER,
    }
    assert "stringData" in secret.secret_inputs
    (namespace,) = [r for r in run.resources if r.kind == "Namespace"]
    assert namespace.inputs["metadata"]["name"] == "samu-edge"
    assert namespace.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == (
        "restricted"
    )
    order = [(r.kind, r.name) for r in run.resources]
    assert (
        order.index(("Namespace", "samu-edge"))
        < order.index(("Secret", secret.name))
        < order.index(("Release", "samu-edge"))
    )


def test_the_certificate_never_appears_in_clear_in_the_plan(monkeypatch, tmp_path):
    sentinel = "-----BEGIN PRIVATE KEY-----sentinel-4f1c9e-----END PRIVATE KEY-----"
    monkeypatch.setattr(offline, "PLACEHOLDER", sentinel)
    result = plan(config_of("dev"), "dev", tmp_path, REPO)
    (secret,) = [r for r in result.run.resources if r.kind == "Secret"]
    assert secret.inputs["stringData"]["tls.key"] == sentinel  # it did reach the Secret...
    assert result.json_path is not None
    assert sentinel not in result.json_path.read_text()  # ... and not the plan file
    assert sentinel not in result.text
    doc = json.loads(result.json_path.read_text())
    (masked,) = [r for r in doc["resources"] if r["type"] == secret.type]
    assert masked["inputs"]["stringData"] == "[secret]"
    names = {(r["type"].rsplit(":", 1)[-1], r["name"]) for r in doc["resources"]}
    assert {("Namespace", "samu-edge"), ("Secret", "samu-edge-sip-tls")} <= names


def test_release_waits_for_the_namespace_and_the_secret(monkeypatch):
    seen: dict[str, Any] = {}

    def recording(cls: type, key: str) -> type:
        class Recording(cls):  # type: ignore[misc,valid-type]
            def __init__(self, resource_name: str, *args: Any, opts: Any = None, **kw: Any) -> None:
                seen[key] = (opts, kw)
                super().__init__(resource_name, *args, opts=opts, **kw)

        return Recording

    monkeypatch.setattr(edge_release, "Release", recording(edge_release.Release, "release"))
    monkeypatch.setattr(edge_release, "Secret", recording(edge_release.Secret, "secret"))
    run_offline(config_of("dev"), "dev", REPO)
    opts, kw = seen["release"]
    deps = {d._name: d for d in opts.depends_on}
    assert isinstance(deps["samu-operator"], Release)
    assert isinstance(deps["samu-edge"], Namespace)
    assert isinstance(deps["samu-edge-sip-tls"], Secret)
    assert kw["create_namespace"] is False
    _, secret_kw = seen["secret"]
    # The Secret's namespace is the Namespace resource's output: created after it.
    assert not isinstance(secret_kw["metadata"]["namespace"], str)


def test_existing_secret_leaves_the_certificate_to_another_tool():
    doc = stack_doc("dev")
    doc["config"][f"{PREFIX}edge"]["tls"] = {"existingSecret": True}
    cfg = parse_config(doc["config"], "dev", REPO)
    assert f"{PREFIX}edge" not in offline.placeholder_config(cfg)[0]
    run = run_offline(cfg, "dev", REPO)
    assert [r for r in run.resources if r.kind == "Secret"] == []
    assert [r.name for r in run.resources if r.kind == "Namespace"] == ["samu-edge"]
    assert _edge_values(run)["sip"]["tls"]["secretName"] == "samu-edge-sip-tls"


def test_a_clear_certificate_fails_the_plan_before_any_resource(tmp_path, capsys, declared):
    doc = stack_doc("dev")
    pem = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"
    doc["config"][f"{PREFIX}edge"]["tls"]["certificate"] = pem
    path = write(doc, tmp_path, "clear")
    out_dir = tmp_path / "out"
    code = main(
        ["plan", "--project-root", str(REPO), "--config-file", str(path), "--out", str(out_dir)]
    )
    captured = capsys.readouterr()
    assert code == 2
    assert f"{PREFIX}edge.tls.certificate" in captured.err
    assert "pulumi config set --secret --path edge.tls.certificate" in captured.err
    assert "MIIBszCCAVmgAwIBAgIU" not in captured.out + captured.err
    assert declared == [] and not out_dir.exists()
