"""What a real cluster needs before a tenant can run: an air-gapped install from the tenancy's
mirror, the Cinder CSI add-on and an encrypted, zone-aware default StorageClass that the
operator's recording PVCs name. Read from the nodes' declared cloud-init, as a node runs it."""

import dataclasses
import json
from typing import Any

import pytest
import yaml

from samu_infra import guardrails, offline, userdata
from samu_infra.addons import CSI_CHART_VERSION, MANIFESTS_DIR
from samu_infra.guardrails_cluster import installs_from_tenancy, recordings_storage_encrypted
from samu_infra.inventory import Declared, Inventory
from samu_infra.offline import run_offline
from samu_infra.runner import plan, vip_ports
from samu_infra.stackfile import parse_config
from samu_operator.core.desired import STORAGE_CLASS, desired_objects
from samu_operator.model.errors import validate_tenant
from samuctl.main import main
from tests.infra.conftest import config_of, instances, run_of
from tests.infra.stackgen import PREFIX, REPO, stack_doc

STACKS = ["dev", "prod"]


def _nodes(stack: str) -> list[Declared]:
    run = run_of(stack)
    return [i for i in instances(run) if i.tier in ("k8s-control", "k8s-worker")]


def _mirror_address(stack: str) -> str:
    run = run_of(stack)
    (port,) = [p for p in Inventory(run.resources).of_kind("Port") if p.name == "bastion"]
    return port.inputs["fixedIps"][0]["ipAddress"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_node_installs_rke2_and_pulls_images_from_the_bastion_only(stack):
    mirror = _mirror_address(stack)
    cfg = config_of(stack)
    for node in _nodes(stack):
        data = node.inputs["userData"]
        text = "\n".join(userdata.commands(data))
        assert "get.rke2.io" not in data and "github.com" not in data, node.name
        assert f"https://{mirror}/rke2/" in text
        assert "INSTALL_RKE2_ARTIFACT_PATH=" in text
        registries = yaml.safe_load(userdata.files(data)["/etc/rancher/rke2/registries.yaml"])
        assert {"docker.io", "registry.k8s.io", *cfg.mirror.registries} <= set(
            registries["mirrors"]
        )
        for m in registries["mirrors"].values():
            assert m["endpoint"] == [f"https://{mirror}:5000"]
        # Every URL is inside the tenancy (the mirror, the API VIP) or the cloud's identity.
        for url in userdata.urls(data):
            assert url.startswith((f"https://{mirror}", "https://10.")) or url.startswith(
                cfg.cloud.auth_url
            ), url


@pytest.mark.parametrize("stack", STACKS)
def test_the_bastion_serves_the_mirror_to_the_supernet_only(stack):
    run, cfg = run_of(stack), config_of(stack)
    inv = Inventory(run.resources)
    (group,) = [g for g in inv.of_kind("SecGroup") if g.name == "sg-bastion"]
    rules = {
        int(r.inputs["portRangeMin"]): r.inputs["remoteIpPrefix"]
        for r in inv.of_kind("SecGroupRule")
        if r.inputs["securityGroupId"] == group.id
        and r.inputs["direction"] == "ingress"
        and int(r.inputs.get("portRangeMin") or 0) in (443, 5000)
    }
    assert rules == {443: cfg.network.supernet, 5000: cfg.network.supernet}
    (bastion,) = instances(run, "admin")
    files = userdata.files(bastion.inputs["userData"])
    assert "listen 443 ssl;" in files["/etc/nginx/sites-enabled/samu-mirror.conf"]
    assert yaml.safe_load(files["/etc/docker/registry/config.yml"])["http"]["addr"] == ":5000"


@pytest.mark.parametrize("stack", STACKS)
def test_pod_and_service_ranges_reach_every_server(stack):
    cfg = config_of(stack)
    for node in instances(run_of(stack), "k8s-control"):
        config = yaml.safe_load(
            userdata.files(node.inputs["userData"])["/etc/rancher/rke2/config.yaml"]
        )
        assert config["cluster-cidr"] == cfg.network.pod_cidr
        assert config["service-cidr"] == cfg.network.service_cidr


def _manifests(node: Declared) -> list[dict[str, Any]]:
    return list(userdata.manifests(node.inputs["userData"], MANIFESTS_DIR))


@pytest.mark.parametrize("stack", STACKS)
def test_every_server_carries_the_pinned_csi_and_the_encrypted_zone_aware_class(stack):
    run, cfg = run_of(stack), config_of(stack)
    mirror = _mirror_address(stack)
    (vtype,) = [
        v for v in Inventory(run.resources).of_kind("VolumeTypeV3") if v.name == "encrypted"
    ]
    for node in instances(run, "k8s-control"):
        objs = {(o["kind"], o["metadata"]["name"]): o for o in _manifests(node)}
        chart = objs[("HelmChart", "openstack-cinder-csi")]
        assert chart["spec"]["chart"] == (
            f"https://{mirror}/charts/openstack-cinder-csi-{CSI_CHART_VERSION}.tgz"
        )
        assert yaml.safe_load(chart["spec"]["valuesContent"])["storageClass"]["enabled"] is False
        sc = objs[("StorageClass", STORAGE_CLASS)]
        assert sc["parameters"]["type"] == vtype.inputs["name"]
        assert sc["volumeBindingMode"] == "WaitForFirstConsumer"
        assert sc["reclaimPolicy"] == "Retain"
        assert (
            sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
        )
        (expr,) = sc["allowedTopologies"][0]["matchLabelExpressions"]
        assert expr["values"] == cfg.zones
        conf = objs[("Secret", "cinder-csi-cloud-config")]["stringData"]["cloud.conf"]
        assert "application-credential-id" in conf and "password" not in conf


@pytest.mark.parametrize("stack", STACKS)
def test_the_csi_credential_is_restricted_to_volumes_and_attachments(stack):
    creds = [r for r in run_of(stack).resources if r.kind == "ApplicationCredential"]
    clusters = [c.name for c in config_of(stack).clusters]
    assert sorted(c.name for c in creds if c.name.endswith("-csi")) == sorted(
        f"{c}-csi" for c in clusters
    )
    for cred in (c for c in creds if c.name.endswith("-csi")):
        assert cred.inputs["unrestricted"] is False
        services = {r["service"] for r in cred.inputs["accessRules"]}
        assert services == {"volumev3", "compute"}


def test_the_operator_s_recording_pvcs_name_the_platform_class():
    run = run_of("prod")
    tenants = [r for r in run.resources if r.kind == "SamuTenant"]
    assert tenants
    for r in tenants:
        tenant = validate_tenant({"kind": "SamuTenant", **dict(r.inputs)})
        pvcs = [o for o in desired_objects(tenant) if o["kind"] == "PersistentVolumeClaim"]
        assert pvcs and {p["spec"]["storageClassName"] for p in pvcs} == {STORAGE_CLASS}


def _with_user_data(resources: list[Declared], name: str, edit) -> list[Declared]:
    out = []
    for r in resources:
        if r.name == name and r.kind == "Instance":
            r = dataclasses.replace(r, inputs={**r.inputs, "userData": edit(r.inputs["userData"])})
        out.append(r)
    return out


def test_a_url_outside_the_tenancy_in_cloud_init_fails_the_guardrail():
    run = run_of("dev")
    assert installs_from_tenancy(Inventory(run.resources)) == []
    node = instances(run, "k8s-worker")[0].name
    bad = _with_user_data(
        run.resources,
        node,
        lambda d: d.replace("runcmd:\n", "runcmd:\n- curl -sfL https://get.rke2.io | sh -\n", 1),
    )
    (found,) = installs_from_tenancy(Inventory(bad))
    assert node in found and "https://get.rke2.io" in found


def test_a_class_on_an_unencrypted_type_fails_the_guardrail():
    run = run_of("dev")
    assert recordings_storage_encrypted(Inventory(run.resources)) == []
    servers = [i.name for i in instances(run, "k8s-control")]
    bad = run.resources
    for name in servers:
        bad = _with_user_data(
            bad, name, lambda d: d.replace("type: samu-encrypted", "type: __DEFAULT__")
        )
    found = recordings_storage_encrypted(Inventory(bad))
    assert any("__DEFAULT__" in v and "encrypted volume type" in v for v in found), found


def test_an_operator_naming_a_class_nobody_declares_fails_the_plan(tmp_path):
    doc = stack_doc("dev")
    values = doc["config"][f"{PREFIX}operator"].setdefault("values", {})
    values["operator"] = {"extraEnv": [{"name": "SAMU_STORAGE_CLASS", "value": "standard"}]}
    cfg = parse_config(doc["config"], "dev", REPO)
    result = plan(cfg, "dev", None, REPO)
    (rule,) = [g for g in result.doc["guardrails"] if g["rule"] == "recordings-storage-encrypted"]
    assert not rule["passed"]
    assert any("'standard'" in v and "samu-30" in v for v in rule["violations"]), rule


def test_the_plan_shows_mirror_csi_and_class_without_the_csi_secret(monkeypatch, tmp_path):
    sentinel = "csi-credential-sentinel-8d2f"
    monkeypatch.setattr(offline, "PLACEHOLDER", sentinel)
    result = plan(config_of("prod"), "prod", tmp_path, REPO)
    assert result.passed
    text = result.text
    assert "add-on openstack-cinder-csi: https://" in text
    assert f"StorageClass {STORAGE_CLASS}: volume type samu-encrypted, WaitForFirstConsumer" in text
    assert "RKE2 from https://" in text and ":5000" in text
    assert sentinel not in text
    assert result.json_path is not None
    assert sentinel not in result.json_path.read_text()
    installs = json.loads(result.json_path.read_text())["clusterInstalls"]
    assert set(installs) == {"telephony", "services"}


@pytest.mark.parametrize("stack", STACKS)
def test_new_guardrails_pass_on_the_committed_stacks(stack):
    run = run_of(stack)
    results = {r.name: r for r in guardrails.check(run.resources, vip_ports(run))}
    for name in ("installs-from-tenancy", "recordings-storage-encrypted"):
        assert results[name].passed, results[name].violations


def test_samuctl_plan_prod_exits_zero_and_prints_the_installs(tmp_path, capsys):
    code = main(["plan", "--stack", "prod", "--project-root", str(REPO), "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Cluster installs" in out and "openstack-cinder-csi" in out


def test_a_changed_mirror_ca_is_trusted_by_nodes_and_registry():
    doc = stack_doc("dev")
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    doc["config"][f"{PREFIX}mirror"]["caCertificate"] = pem
    run = run_offline(parse_config(doc["config"], "dev", REPO), "dev", REPO)
    for node in instances(run, "k8s-worker"):
        files = userdata.files(node.inputs["userData"])
        assert files["/usr/local/share/ca-certificates/samu-mirror.crt"] == pem
        registries = yaml.safe_load(files["/etc/rancher/rke2/registries.yaml"])
        (config,) = registries["configs"].values()
        assert config["tls"]["ca_file"].endswith("samu-mirror.crt")
        assert userdata.commands(node.inputs["userData"])[0] == "update-ca-certificates"
