"""Each guardrail on plain data: a compliant tenancy passes, one targeted change fails it."""

import copy
from collections.abc import Callable

import pytest
import yaml

from samu_infra import guardrails as g
from samu_infra.addons import MANIFESTS_DIR, storage_class
from samu_infra.inventory import Declared, Inventory
from samu_infra.labels import ENCRYPTION_SPEC_KEY

ZONES = ["a", "b", "c"]
OS = "openstack"


def res(kind_path: str, rname: str, /, **inputs) -> Declared:
    kind = kind_path.rsplit("/", 1)[-1]
    kind = kind[0].upper() + kind[1:]
    return Declared(f"{OS}:{kind_path}:{kind}", rname, f"{kind.lower()}-{rname}", inputs)


def server(name: str, zone: str, tier: str, group: str = "servergroup-hard", **marks) -> Declared:
    return res(
        "compute/instance",
        name,
        availabilityZone=zone,
        metadata={"samu-tier": tier, "samu-zone": zone, **marks},
        blockDevices=[{"destinationType": "volume", "volumeType": "enc", "bootIndex": 0}],
        schedulerHints=[{"group": group}],
    )


def compliant() -> list[Declared]:
    """The smallest tenancy that keeps every rule."""
    out = [
        Declared("pulumi:providers:openstack", "openstack", "p", {"region": "fr-par-1"}),
        res("blockstorage/volumeTypeV3", "enc", name="enc", extraSpecs={ENCRYPTION_SPEC_KEY: "<is> True"}),
        res("compute/serverGroup", "hard", policies="anti-affinity"),
        res("compute/serverGroup", "soft", policies="soft-anti-affinity"),
        server("bastion", "a", "admin"),
        server("rac-0", "a", "database"),
        server("rac-1", "b", "database"),
        server("standby", "c", "database-standby"),
        res("blockstorage/volume", "asm-00", volumeType="enc", metadata={"samu-tier": "database"}),
        res("networking/router", "r", externalNetworkId="network-ext"),
        res("networking/secGroup", "bastion", tags=["samu-tier=admin", "samu-role=bastion"]),
        res("networking/secGroup", "nodes", tags=["samu-tier=k8s-worker", "samu-role=nodes"]),
        res("networking/secGroupRule", "bastion-ssh", direction="ingress", protocol="tcp",
            portRangeMin=22, portRangeMax=22, remoteIpPrefix="192.0.2.0/28",
            securityGroupId="secgroup-bastion"),
        res("networking/secGroupRule", "nodes-ssh", direction="ingress", protocol="tcp",
            portRangeMin=22, portRangeMax=22, remoteGroupId="secgroup-bastion",
            securityGroupId="secgroup-nodes"),
        res("networking/port", "bastion", networkId="network-admin", tags=["samu-tier=admin"]),
        res("networking/port", "rac-0-public", networkId="network-db", tags=["samu-tier=database"]),
        res("networking/floatingIpAssociate", "bastion", portId="port-bastion"),
        res("loadbalancer/loadBalancer", "api", tags=["samu-tier=k8s-control"]),
        res("loadbalancer/listener", "api-6443", loadbalancerId="loadbalancer-api",
            protocol="HTTPS", protocolPort=6443, allowedCidrs=["10.40.0.0/16"],
            tags=["samu-traffic=admin", "samu-tls=passthrough"]),
        res("objectstorage/container", "recordings-samu-30",
            metadata={"samu-tier": "recordings", "samu-tenant": "samu-30", "samu-encrypted": "true"}),
        Declared("kubernetes:samu-platform.io/v1alpha1:SamuTenant", "samu-30", "t30",
                 {"metadata": {"name": "samu-30"}, "spec": {"numbers": ["+33466000015"]}}),
        res("loadbalancer/listener", "sip", loadbalancerId="loadbalancer-sip", protocol="TCP",
            protocolPort=5061, allowedCidrs=["198.51.100.0/26"],
            tags=["samu-traffic=sip-tls", "samu-tls=passthrough"]),
        res("loadbalancer/pool", "sip", listenerId="listener-sip"),
        res("loadbalancer/member", "sip-a", poolId="pool-sip", protocolPort=30561),
        res("networking/secGroupRule", "sip-nodeport", direction="ingress", protocol="tcp",
            portRangeMin=30561, portRangeMax=30561, remoteIpPrefix="10.40.0.0/16",
            securityGroupId="secgroup-nodes"),
        Declared("kubernetes:helm.sh/v3:Release", "samu-edge", "edge",
                 {"values": {"sip": {"tls": {"enabled": True}}, "service": {
                     "type": "NodePort", "nodePorts": {"sipTls": 30561},
                     "externalTrafficPolicy": "Local"}}}),
    ]  # fmt: skip
    out += [
        res("networking/secGroup", "media", tags=["samu-tier=sip-edge", "samu-role=sip-edge-media"]),
        res("networking/secGroupRule", "rtp-0", direction="ingress", protocol="udp",
            portRangeMin=40000, portRangeMax=49999, remoteIpPrefix="198.51.100.0/26",
            securityGroupId="secgroup-media"),
        res("networking/port", "w-a", tags=["samu-tier=k8s-worker"],
            securityGroupIds=["secgroup-nodes", "secgroup-media"]),
        res("networking/floatingIp", "w-a-media", tags=["samu-tier=sip-edge", "samu-traffic=rtp"]),
        res("networking/floatingIpAssociate", "w-a-media", portId="port-w-a",
            floatingIp="198.18.0.7"),
    ]  # fmt: skip
    for zone in ZONES:
        cp = server(f"cp-{zone}", zone, "k8s-control", **{"samu-cluster": "t"})
        out.append(Declared(cp.type, cp.name, cp.id, {**cp.inputs, "userData": cp_user_data()}))
        worker = server(
            f"w-{zone}", zone, "k8s-worker", "servergroup-soft", **{"samu-cluster": "t"}
        )
        config = {"node-label": ["samu-platform.io/media-address=198.18.0.7"]}
        files = [{"path": "/etc/rancher/rke2/config.yaml", "content": yaml.safe_dump(config)}]
        out.append(
            Declared(worker.type, worker.name, worker.id, {
                **worker.inputs, "networks": [{"port": f"port-w-{zone}"}],
                "userData": "#cloud-config\n" + yaml.safe_dump({"write_files": files})})
        )  # fmt: skip
    return out


def cp_user_data(volume_type: str = "enc", extra_command: str = "true") -> str:
    """A control-plane node's cloud-init: the encrypted class in RKE2's manifests directory."""
    manifest = yaml.safe_dump(storage_class(volume_type, ZONES))
    files = [{"path": f"{MANIFESTS_DIR}/samu-storageclass.yaml", "content": manifest}]
    return "#cloud-config\n" + yaml.safe_dump({"write_files": files, "runcmd": [extra_command]})


def edit(resources: list[Declared], name: str, kind: str, **inputs) -> list[Declared]:
    """A copy where one resource's inputs are changed (None removes the key)."""
    out = []
    for r in resources:
        if r.name == name and r.kind == kind:
            new = copy.deepcopy(dict(r.inputs))
            new.update(inputs)
            r = Declared(r.type, r.name, r.id, {k: v for k, v in new.items() if v is not None})
        out.append(r)
    return out


def drop(resources: list[Declared], name: str, kind: str) -> list[Declared]:
    return [r for r in resources if not (r.name == name and r.kind == kind)]


def moved(resources: list[Declared], name: str, zone: str) -> list[Declared]:
    r = next(r for r in resources if r.name == name and r.kind == "Instance")
    return edit(resources, name, "Instance", availabilityZone=zone,
                metadata={**r.inputs["metadata"], "samu-zone": zone})  # fmt: skip


Change = Callable[[list[Declared]], list[Declared]]

FAILING: list[tuple[str, Change, str]] = [
    ("three-zones", lambda rs: [r for r in rs if r.zone != "c"], "spread them over 3"),
    ("tiers-spread", lambda rs: drop(rs, "w-c", "Instance"), "k8s-worker of cluster t"),
    ("tiers-spread", lambda rs: moved(rs, "cp-c", "b"), "k8s-control of cluster t spans"),
    ("tiers-spread", lambda rs: moved(rs, "standby", "b"), "database spans"),
    ("standby-outside-primary", lambda rs: moved(rs, "standby", "a"), "standby standby"),
    ("standby-outside-primary", lambda rs: drop(rs, "standby", "Instance"), "no Data Guard"),
    ("region-allowed",
     lambda rs: [Declared(r.type, r.name, r.id, {"region": "us-east-1"})
                 if r.type.startswith("pulumi:providers") else r for r in rs],
     "us-east-1"),
    ("region-allowed",
     lambda rs: [Declared(r.type, r.name, r.id, {}) if r.type.startswith("pulumi:providers")
                 else r for r in rs],
     "has no region"),
    ("encryption-at-rest", lambda rs: edit(rs, "asm-00", "Volume", volumeType="__DEFAULT__"), "asm-00"),
    ("encryption-at-rest", lambda rs: edit(rs, "rac-0", "Instance", blockDevices=None), "ephemeral"),
    ("encryption-at-rest",
     lambda rs: edit(rs, "recordings-samu-30", "Container",
                     metadata={"samu-tenant": "samu-30", "samu-tier": "recordings"}),
     "recordings-samu-30"),
    ("tls-listeners", lambda rs: edit(rs, "api-6443", "Listener", protocol="HTTP"), "api-6443"),
    ("tls-listeners",
     lambda rs: edit(rs, "api-6443", "Listener", protocol="TCP", protocolPort=8080), "not a TLS port"),
    ("tls-listeners",
     lambda rs: edit(rs, "api-6443", "Listener", protocol="TERMINATED_HTTPS"), "without a certificate"),
    ("no-public-exposure",
     lambda rs: [*rs, res("networking/floatingIpAssociate", "oops", portId="port-rac-0-public")],
     "rac-0-public (database) has a floating IP"),
    ("no-public-exposure", lambda rs: edit(rs, "bastion-ssh", "SecGroupRule", remoteIpPrefix="0.0.0.0/0"), "0.0.0.0/0"),
    ("no-public-exposure", lambda rs: edit(rs, "bastion-ssh", "SecGroupRule", remoteIpPrefix=None), "no remote"),
    ("no-public-exposure", lambda rs: edit(rs, "api-6443", "Listener", allowedCidrs=None), "any source"),
    ("no-public-exposure",
     lambda rs: edit(rs, "rac-0-public", "Port", networkId="network-ext"), "external network"),
    ("no-public-exposure",
     lambda rs: edit(rs, "recordings-samu-30", "Container", containerRead=".r:*"), "publicly readable"),
    ("admin-via-bastion",
     lambda rs: edit(rs, "nodes-ssh", "SecGroupRule", remoteGroupId=None, remoteIpPrefix="192.0.2.0/28"),
     "nodes-ssh"),
    ("admin-via-bastion", lambda rs: drop(rs, "bastion", "Instance"), "no bastion"),
    ("anti-affinity", lambda rs: edit(rs, "rac-1", "Instance", schedulerHints=[{"group": "servergroup-soft"}]), "rac-1"),
    ("tenant-isolation",
     lambda rs: [*rs, Declared("kubernetes:samu-platform.io/v1alpha1:SamuTenant", "samu-13", "t13",
                               {"metadata": {"name": "samu-13"}, "spec": {"numbers": ["+33466000015"]}})],
     "belongs to samu-30 and samu-13"),
    ("tenant-isolation", lambda rs: drop(rs, "recordings-samu-30", "Container"), "0 recording containers"),
    ("tenant-isolation",
     lambda rs: edit(rs, "recordings-samu-30", "Container", containerWrite="other-project:*"), "by ACL"),
    ("sip-edge-path", lambda rs: edit(rs, "sip-a", "Member", protocolPort=5061),
     "forwards to node port 5061, but no samu-edge release serves it"),
    ("sip-edge-path",
     lambda rs: edit(rs, "samu-edge", "Release", values={"sip": {}, "service": {
         "type": "NodePort", "nodePorts": {"sipTls": 30561}, "externalTrafficPolicy": "Cluster"}}),
     "no samu-edge release serves it"),
    ("sip-edge-path",
     lambda rs: edit(rs, "samu-edge", "Release", values={"sip": {}, "service": {"type": "LoadBalancer"}}),
     "second SIP load balancer"),
    ("sip-edge-path", lambda rs: drop(rs, "sip-nodeport", "SecGroupRule"),
     "no security group rule admits node port 30561"),
    ("sip-edge-path", lambda rs: drop(rs, "sip-a", "Member"), "has no members"),
    ("rtp-media-path",
     lambda rs: edit(rs, "rtp-0", "SecGroupRule", remoteIpPrefix="192.0.2.0/28"),
     "no rule admits RTP 40000-49999/udp from carrier range 198.51.100.0/26"),
    ("rtp-media-path",
     lambda rs: edit(rs, "w-a-media", "FloatingIpAssociate", floatingIp="198.18.0.99"),
     "does not label its media address"),
    ("rtp-media-path", lambda rs: edit(rs, "w-a", "Port", securityGroupIds=["secgroup-nodes"]),
     "without the media group"),
    ("installs-from-tenancy",
     lambda rs: edit(rs, "cp-b", "Instance",
                     userData=cp_user_data(extra_command="curl -sfL https://get.rke2.io | sh -")),
     "cp-b's cloud-init fetches https://get.rke2.io"),
    ("recordings-storage-encrypted",
     lambda rs: edit(rs, "cp-a", "Instance", userData=cp_user_data("__DEFAULT__")),
     "bind it to an encrypted volume type"),
    ("recordings-storage-encrypted",
     lambda rs: [*rs, Declared("pulumi:providers:kubernetes", "other-k8s", "k")],
     "which cluster other does not declare"),
]  # fmt: skip


def test_the_compliant_tenancy_passes_every_rule():
    results = g.check(compliant())
    assert {r.name for r in results} == set(g.RULES)
    assert [(r.name, r.violations) for r in results if not r.passed] == []


@pytest.mark.parametrize(("rule", "change", "expected"), FAILING, ids=[f[0] for f in FAILING])
def test_each_rule_fails_on_its_violation(rule, change, expected):
    inv = Inventory(change(compliant()))
    violations = g.RULES[rule](inv)
    assert violations, f"{rule} did not fail"
    assert any(expected in v for v in violations), violations


def test_every_rule_has_a_failing_example():
    assert {f[0] for f in FAILING} == set(g.RULES)


def test_a_fourth_zone_needs_workers_but_not_a_fourth_control_plane_server():
    rs = [
        *compliant(),
        server("w-d", "d", "k8s-worker", "servergroup-soft", **{"samu-cluster": "t"}),
    ]
    assert g.tiers_spread(Inventory(rs)) == []
    without_worker = [r for r in rs if r.name != "w-d"] + [server("x-d", "d", "admin")]
    assert g.tiers_spread(Inventory(without_worker)) == [
        "k8s-worker of cluster t has no instance in ['d']: add one per zone"
    ]


def test_a_public_load_balancer_must_not_carry_the_api():
    rs = compliant()
    rs.append(res("networking/floatingIpAssociate", "api", portId="vip-port-api"))
    lb = next(r for r in rs if r.kind == "LoadBalancer")
    found = g.no_public_exposure(Inventory(rs), {"vip-port-api": lb})
    assert any("public load balancer" in v for v in found)
