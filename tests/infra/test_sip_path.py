"""The carrier's SIP-TLS path on a real cluster: floating IP:5061 -> Octavia -> every worker on
the edge chart's fixed node port -> Kamailio's 5061 in its pod; and the certificate Secret
Kamailio mounts, written from secure stack config before the edge release. Media: the
carrier's RTP -> an edge node's own floating IP -> that node (rtpengine, host network) on
the edge's RTP range, admitted from the carrier's ranges only."""

import ipaddress
import json
from typing import Any

import pytest
import yaml
from pulumi_kubernetes.core.v1 import Namespace, Secret
from pulumi_kubernetes.helm.v3 import Release

from samu_infra import edge_release, offline, userdata
from samu_infra.inventory import Declared, Inventory
from samu_infra.offline import OfflineRun, run_offline
from samu_infra.runner import plan
from samu_infra.stackfile import ConfigError, parse_config
from samuctl.main import main
from tests.infra.conftest import config_of, run_of
from tests.infra.stackgen import PREFIX, REPO, stack_doc, write

STACKS = ["dev", "prod"]
STORE_SECRET = "samu-recordings-store"  # the recording store's (test_recording_store.py)


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
    (secret,) = [
        r for r in run.resources if r.kind == "Secret" and not r.name.endswith(STORE_SECRET)
    ]
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
    (namespace,) = [r for r in run.resources if r.kind == "Namespace" and r.name == "samu-edge"]
    # the edge runs on its nodes' network (their floating IPs carry the RTP): "privileged" is
    # enforced, "restricted" audited and warned (every other control is met)
    labels = namespace.inputs["metadata"]["labels"]
    assert labels["pod-security.kubernetes.io/enforce"] == "privileged"
    assert labels["pod-security.kubernetes.io/audit"] == "restricted"
    assert labels["pod-security.kubernetes.io/warn"] == "restricted"
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
    (secret,) = [
        r for r in result.run.resources if r.kind == "Secret" and not r.name.endswith(STORE_SECRET)
    ]
    assert secret.inputs["stringData"]["tls.key"] == sentinel  # it did reach the Secret...
    assert result.json_path is not None
    assert sentinel not in result.json_path.read_text()  # ... and not the plan file
    assert sentinel not in result.text
    doc = json.loads(result.json_path.read_text())
    (masked,) = [
        r for r in doc["resources"] if r["type"] == secret.type and r["name"] == secret.name
    ]
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
    assert [
        r for r in run.resources if r.kind == "Secret" and not r.name.endswith(STORE_SECRET)
    ] == []
    assert "samu-edge" in [r.name for r in run.resources if r.kind == "Namespace"]
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


def _media_path(run: OfflineRun, source: str, port: int) -> dict[str, list[str]]:
    """Follow a UDP packet from ``source`` to each media address on ``port``: the node it
    reaches (by floating IP -> associated port -> instance) if a rule of that port's groups
    admits it, else None; and the node's advertised media address label."""
    inv = Inventory(run.resources)
    src = ipaddress.IPv4Address(source)
    servers = {
        n["port"]: s for s in inv.of_kind("Instance") for n in s.inputs.get("networks") or []
    }
    reached: dict[str, list[str]] = {}
    for assoc in inv.of_kind("FloatingIpAssociate"):
        if not assoc.name.endswith("-media"):
            continue
        nic = inv.get(assoc.inputs["portId"])
        assert nic is not None
        admitted = any(
            rule.inputs["direction"] == "ingress"
            and rule.inputs.get("protocol") == "udp"
            and rule.inputs.get("remoteIpPrefix")
            and src in ipaddress.IPv4Network(rule.inputs["remoteIpPrefix"])
            and int(rule.inputs["portRangeMin"]) <= port <= int(rule.inputs["portRangeMax"])
            for rule in inv.of_kind("SecGroupRule")
            if rule.inputs["securityGroupId"] in nic.inputs["securityGroupIds"]
        )
        if admitted:
            server = servers[nic.id]
            config = yaml.safe_load(
                userdata.files(server.inputs["userData"])["/etc/rancher/rke2/config.yaml"]
            )
            reached[assoc.inputs["floatingIp"]] = [server.name, *config["node-label"]]
    return reached


@pytest.mark.parametrize("stack", STACKS)
def test_carrier_rtp_reaches_every_edge_node_on_its_own_address(stack):
    run, cfg = run_of(stack), config_of(stack)
    rtp = cfg.edge.rtp_port_range
    workers = [
        i for i in Inventory(run.resources).of_kind("Instance")
        if i.tier == "k8s-worker" and i.marks().get("samu-cluster") == "telephony"
    ]  # fmt: skip
    for cidr in cfg.network.carrier_cidrs:
        net = ipaddress.IPv4Network(cidr)
        for source in (net.network_address + 1, net.broadcast_address - 1):
            for port in (rtp.min, rtp.max):
                reached = _media_path(run, str(source), port)
                # Every telephony worker, each on its own address, labelled with it.
                assert sorted(v[0] for v in reached.values()) == sorted(w.name for w in workers)
                for address, (_, *labels) in reached.items():
                    assert f"samu-platform.io/media-address={address}" in labels
                    assert any(label.startswith("topology.kubernetes.io/zone=") for label in labels)
    assert run.outputs["telephonyMediaAddresses"] == {
        n: a
        for a, (n, *_) in _media_path(
            run,
            str(ipaddress.IPv4Network(cfg.network.carrier_cidrs[0]).network_address + 1),
            rtp.min,
        ).items()
    }


@pytest.mark.parametrize("stack", STACKS)
def test_rtp_from_anywhere_else_or_off_range_reaches_no_node(stack):
    run, cfg = run_of(stack), config_of(stack)
    rtp = cfg.edge.rtp_port_range
    carrier = str(ipaddress.IPv4Network(cfg.network.carrier_cidrs[0]).network_address + 1)
    admin = str(ipaddress.IPv4Network(cfg.network.admin_cidrs[0]).network_address + 1)
    for source, port in [("8.8.8.8", rtp.min), (admin, rtp.min), (carrier, rtp.max + 1),
                         (carrier, rtp.min - 1)]:  # fmt: skip
        assert _media_path(run, source, port) == {}, (source, port)


@pytest.mark.parametrize("stack", STACKS)
def test_edge_nodes_keep_the_rtp_range_out_of_the_kernel_s_ephemeral_ports(stack):
    run, cfg = run_of(stack), config_of(stack)
    rtp = cfg.edge.rtp_port_range
    for node in Inventory(run.resources).of_kind("Instance"):
        if node.tier == "k8s-worker" and node.marks().get("samu-cluster") == "telephony":
            sysctl = userdata.files(node.inputs["userData"])["/etc/sysctl.d/70-samu-rtp.conf"]
            assert sysctl.strip() == f"net.ipv4.ip_local_reserved_ports = {rtp.min}-{rtp.max}"


def test_changing_the_rtp_range_moves_the_rules_and_the_reservation():
    doc = stack_doc("dev")
    doc["config"][f"{PREFIX}edge"]["rtpPortRange"] = {"min": 50000, "max": 51999}
    cfg = parse_config(doc["config"], "dev", REPO)
    run = run_offline(cfg, "dev", REPO)
    carrier = str(ipaddress.IPv4Network(cfg.network.carrier_cidrs[0]).network_address + 1)
    assert _media_path(run, carrier, 51999)
    assert _media_path(run, carrier, 40000) == {}


@pytest.mark.parametrize(
    ("rtp", "words"),
    [
        ({"min": 30000, "max": 39999}, "overlaps the node port range"),
        ({"min": 41000, "max": 40000}, "swap them"),
        ({"min": 40000, "max": 40100}, "give 1000 at least"),
    ],
)
def test_a_bad_rtp_range_is_refused_naming_edge_rtp_port_range(rtp, words):
    doc = stack_doc("dev")
    doc["config"][f"{PREFIX}edge"]["rtpPortRange"] = rtp
    with pytest.raises(ConfigError) as err:
        parse_config(doc["config"], "dev", REPO)
    found = {i.key: i.message for i in err.value.issues}
    assert words in found[f"{PREFIX}edge.rtpPortRange"]
