"""The whole program for dev and prod, evaluated under mocks: the declared topology."""

import ipaddress
from collections import Counter

import pytest
import yaml

from samu_infra.addressing import carve
from samu_infra.guardrails import check
from samu_infra.inventory import Inventory
from samu_infra.labels import ENCRYPTION_SPEC_KEY, MULTIATTACH_SPEC_KEY
from samu_infra.runner import vip_ports
from tests.infra.conftest import config_of, instances, run_of

STACKS = ["dev", "prod"]


def by_kind(stack: str, kind: str):
    return Inventory(run_of(stack).resources).of_kind(kind)


@pytest.mark.parametrize("stack", STACKS)
def test_every_cluster_has_one_control_plane_node_per_zone_and_its_workers(stack):
    cfg, run = config_of(stack), run_of(stack)
    for cluster in cfg.clusters:
        cp = Counter(
            r.zone
            for r in instances(run, "k8s-control")
            if r.inputs["metadata"]["samu-cluster"] == cluster.name
        )
        workers = Counter(
            r.zone
            for r in instances(run, "k8s-worker")
            if r.inputs["metadata"]["samu-cluster"] == cluster.name
        )
        assert cp == {z: 1 for z in cfg.zones}
        assert workers == {z: cluster.workers.per_zone for z in cfg.zones}


def test_dev_is_small_and_prod_full_size():
    dev, prod = run_of("dev"), run_of("prod")
    assert Counter(r.zone for r in instances(dev, "k8s-worker")) == {
        "fr-par-1a": 1,
        "fr-par-1b": 1,
        "fr-par-1c": 1,
    }
    assert len(instances(prod)) > 2 * len(instances(dev))
    assert len(config_of("prod").clusters) == 2


@pytest.mark.parametrize("stack", STACKS)
def test_control_plane_and_rac_nodes_are_in_hard_anti_affinity_groups(stack):
    groups = {g.id: g.inputs["policies"] for g in by_kind(stack, "ServerGroup")}
    run = run_of(stack)
    for tier in ("k8s-control", "database", "database-standby"):
        for node in instances(run, tier):
            (hint,) = node.inputs["schedulerHints"]
            assert groups[hint["group"]] == "anti-affinity", node.name
    for node in instances(run, "k8s-worker"):
        (hint,) = node.inputs["schedulerHints"]
        assert groups[hint["group"]] == "soft-anti-affinity"


@pytest.mark.parametrize("stack", STACKS)
def test_rac_nodes_are_in_distinct_zones_and_standby_in_another(stack):
    cfg, run = config_of(stack), run_of(stack)
    rac = instances(run, "database")
    (standby,) = instances(run, "database-standby")
    assert len(rac) == cfg.oracle.nodes
    assert len({r.zone for r in rac}) == min(cfg.oracle.nodes, len(cfg.zones) - 1)
    assert standby.zone == cfg.oracle.standby_zone
    assert standby.zone not in {r.zone for r in rac}
    for node in [*rac, standby]:  # Oracle runs on its certified OS image, not the nodes' one
        assert node.inputs["blockDevices"][0]["uuid"] == f"image-{cfg.oracle.image}"


@pytest.mark.parametrize("stack", STACKS)
def test_asm_disks_are_multiattach_and_attached_to_every_rac_node(stack):
    cfg, run = config_of(stack), run_of(stack)
    types = {t.inputs["name"]: t.inputs["extraSpecs"] for t in by_kind(stack, "VolumeTypeV3")}
    asm = [v for v in by_kind(stack, "Volume") if v.inputs["metadata"].get("samu-role") == "asm"]
    assert len(asm) == cfg.oracle.asm_disks.count
    rac_ids = {r.id for r in instances(run, "database")}
    attaches = by_kind(stack, "VolumeAttach")
    for disk in asm:
        specs = types[disk.inputs["volumeType"]]
        assert specs[MULTIATTACH_SPEC_KEY] == "<is> True"
        assert specs[ENCRYPTION_SPEC_KEY] == "<is> True"
        on_disk = [a for a in attaches if a.inputs["volumeId"] == disk.id]
        assert {a.inputs["instanceId"] for a in on_disk} == rac_ids
        assert all(a.inputs["multiattach"] is True for a in on_disk)


@pytest.mark.parametrize("stack", STACKS)
def test_every_rac_node_may_carry_every_vip_and_scan_vip(stack):
    cfg = config_of(stack)
    plan = carve(cfg.network.supernet, cfg.zones)
    floating = {plan.rac_vip(i) for i in range(cfg.oracle.nodes)} | set(plan.scan_vips())
    ports = {p.name: p for p in by_kind(stack, "Port")}
    reserved = [p for p in ports.values() if p.marks().get("samu-role") in ("vip", "scan")]
    assert {p.inputs["fixedIps"][0]["ipAddress"] for p in reserved} == floating
    assert sum(p.marks()["samu-role"] == "scan" for p in reserved) == 3
    for i in range(cfg.oracle.nodes):
        public = ports[f"rac-{i}-public"]
        assert {p["ipAddress"] for p in public.inputs["allowedAddressPairs"]} == floating
        pairs = ports[f"rac-{i}-interconnect"].inputs["allowedAddressPairs"]
        assert [p["ipAddress"] for p in pairs] == ["169.254.0.0/16"]  # HAIP
    dns = {r.inputs["name"]: r.inputs["records"] for r in by_kind(stack, "RecordSet")}
    assert sorted(dns[f"rac-scan.db.{cfg.cloud.dns_zone}"]) == sorted(plan.scan_vips())


@pytest.mark.parametrize("stack", STACKS)
def test_interconnect_is_isolated_with_jumbo_mtu(stack):
    nets = {n.name: n for n in by_kind(stack, "Network")}
    subnets = {s.name: s for s in by_kind(stack, "Subnet")}
    assert nets["net-rac-interconnect"].inputs["mtu"] == 9000
    assert subnets["subnet-rac-interconnect"].inputs["noGateway"] is True
    routed = {r.inputs["subnetId"] for r in by_kind(stack, "RouterInterface")}
    assert subnets["subnet-rac-interconnect"].id not in routed
    assert subnets["subnet-rac-storage"].id not in routed
    rules = by_kind(stack, "SecGroupRule")
    assert any(r.name == "db-private-peers-igmp" for r in rules)  # GI multicast


@pytest.mark.parametrize("stack", STACKS)
def test_no_floating_ip_reaches_a_database_or_control_plane_node(stack):
    run = run_of(stack)
    inv = Inventory(run.resources)
    targets = [inv.get(f.inputs["portId"]) for f in inv.of_kind("FloatingIpAssociate")]
    lbs = vip_ports(run)
    names = sorted(
        (t or lbs[f.inputs["portId"]]).name
        for t, f in zip(targets, inv.of_kind("FloatingIpAssociate"), strict=True)
    )
    # The bastion, the SIP edge LB, and each edge node's media address (telephony workers).
    workers = sorted(
        p.name
        for p in inv.of_kind("Port")
        if p.tier == "k8s-worker" and p.marks().get("samu-cluster") == "telephony"
    )
    assert names == sorted(["bastion", "telephony-sip-edge", *workers])
    db_ports = {p.id for p in inv.of_kind("Port") if p.tier in ("database", "database-standby")}
    assert not db_ports & {f.inputs["portId"] for f in inv.of_kind("FloatingIpAssociate")}


@pytest.mark.parametrize("stack", STACKS)
def test_kubeconfig_outputs_are_secret_and_point_at_the_api_vip(stack):
    run = run_of(stack)
    for cluster in config_of(stack).clusters:
        key = f"{cluster.name}Kubeconfig"
        assert key in run.secret_outputs
        doc = yaml.safe_load(run.outputs[key])
        assert doc["clusters"][0]["cluster"]["server"] == (
            f"https://{run.outputs[f'{cluster.name}ApiHost']}:6443"
        )
    assert "bastionAddress" not in run.secret_outputs


@pytest.mark.parametrize("stack", STACKS)
def test_nodes_are_labelled_with_their_zone_by_cloud_init(stack):
    for node in instances(run_of(stack), "k8s-worker") + instances(run_of(stack), "k8s-control"):
        user_data = yaml.safe_load(node.inputs["userData"])
        rke2 = yaml.safe_load(user_data["write_files"][0]["content"])
        assert f"topology.kubernetes.io/zone={node.zone}" in rke2["node-label"]
        assert rke2["profile"] == "cis"


@pytest.mark.parametrize("stack", STACKS)
def test_nothing_is_open_to_the_internet(stack):
    cfg = config_of(stack)
    allowed = set(cfg.network.admin_cidrs) | set(cfg.network.carrier_cidrs) | {cfg.network.supernet}
    rules = by_kind(stack, "SecGroupRule")
    for rule in [r for r in rules if r.inputs["direction"] == "ingress"]:
        prefix = rule.inputs.get("remoteIpPrefix")
        assert prefix or rule.inputs.get("remoteGroupId"), rule.name
        if prefix:
            assert ipaddress.ip_network(prefix).prefixlen > 0
            assert (
                prefix in allowed
                or any(
                    ipaddress.ip_network(prefix).subnet_of(ipaddress.ip_network(c)) for c in allowed
                )
                or prefix in carve(cfg.network.supernet, cfg.zones).nodes.values()
            )


@pytest.mark.parametrize("stack", STACKS)
def test_each_tenant_gets_a_samutenant_and_its_own_recording_container(stack):
    cfg = config_of(stack)
    inv = Inventory(run_of(stack).resources)
    crs = [r for r in inv.resources if r.kind == "SamuTenant"]
    assert len(crs) == len(cfg.tenants)
    for cr, entry in zip(crs, cfg.tenants, strict=True):
        assert cr.inputs["metadata"]["name"] == f"samu-{entry['department'].lower()}"
        assert cr.inputs["spec"]["pbx"]["zones"] == entry["pbx"]["zones"]
    containers = inv.of_kind("Container")
    assert sorted(c.inputs["metadata"]["samu-tenant"] for c in containers) == sorted(
        cr.inputs["metadata"]["name"] for cr in crs
    )
    for c in containers:
        assert c.inputs["storagePolicy"] == cfg.recordings.storage_policy
        assert c.inputs["versioning"] is True
        tenant = next(
            t for t in cfg.tenants if c.name == f"recordings-samu-{t['department'].lower()}"
        )
        asked = tenant.get("recording", {}).get("retentionDays", 365)
        expected = max(cfg.recordings.retention_days, asked)
        assert c.inputs["metadata"]["samu-retention-days"] == str(expected)
        assert not c.inputs.get("containerRead")
    (release,) = [r for r in inv.resources if r.kind == "Release" and r.name == "samu-operator"]
    assert release.inputs["chart"].endswith("helm/samu-operator")


@pytest.mark.parametrize("stack", STACKS)
def test_every_guardrail_passes_on_the_committed_stacks(stack):
    run = run_of(stack)
    failed = [r for r in check(run.resources, vip_ports(run)) if not r.passed]
    assert failed == []


@pytest.mark.parametrize("stack", STACKS)
def test_database_ports_are_marked_with_their_node_tier_and_zone(stack):
    cfg, run = config_of(stack), run_of(stack)
    zones = {r.name: r.zone for r in instances(run)}
    for port in by_kind(stack, "Port"):
        node = port.name.rsplit("-", 1)[0]
        if port.name.startswith("rac-") and node in zones:
            assert (port.tier, port.zone) == ("database", zones[node]), port.name
        elif port.name.startswith("standby-"):
            assert (port.tier, port.zone) == ("database-standby", cfg.oracle.standby_zone)


@pytest.mark.parametrize("stack", STACKS)
def test_operator_values_fit_the_charts_schema(stack, tmp_path):
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema comes with the test extras")
    import json

    from tests.infra.stackgen import REPO

    chart = REPO / "helm" / "samu-operator"
    schema = json.loads((chart / "values.schema.json").read_text())
    defaults = yaml.safe_load((chart / "values.yaml").read_text())
    (release,) = [
        r for r in run_of(stack).resources if r.kind == "Release" and r.name == "samu-operator"
    ]

    def merged(base, over):  # Helm validates the chart defaults merged with the release's
        if isinstance(base, dict) and isinstance(over, dict):
            return {k: merged(base.get(k), over[k]) if k in over else base[k] for k in base | over}
        return over

    values = merged(defaults, release.inputs.get("values") or {})
    jsonschema.validate(json.loads(json.dumps(values)), schema)


def test_the_pulumi_entry_point_reads_the_selected_stack_file():
    """`pulumi up --stack dev` runs program.main(): it must find stacks/Pulumi.dev.yaml itself."""
    import pulumi
    from pulumi.runtime import settings
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from samu_infra import program
    from samu_infra.config import PROJECT
    from samu_infra.offline import RecordingMocks, placeholder_config

    mocks = RecordingMocks()
    settings.reset_options(project=PROJECT, stack="dev", preview=True)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack="dev", preview=True)
    pulumi.runtime.set_all_config(*placeholder_config(config_of("dev")))
    try:
        _sync_await(run_pulumi_func(program.main))
    finally:
        settings.reset_options()
        pulumi.runtime.set_all_config({}, [])
    names = {(r.kind, r.name) for r in mocks.resources}
    assert ("Instance", "telephony-cp-fr-par-1a") in names
    assert ("SamuTenant", "samu-30") in names
    assert len(mocks.resources) == len(run_of("dev").resources)
