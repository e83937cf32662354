"""The contract between the operator and the PBX image, checked on what the operator renders.

Every directory asterisk.conf names is a mount of the StatefulSet (writable ones on volumes,
the configuration on the ConfigMap) or a read-only directory of the image; the edge's address
is the Service the edge chart creates; the RTP range is the NetworkPolicy's; the shipper
sidecar follows the shared recordings contract.
"""

import re
from pathlib import Path

import pytest
import yaml

from samu_infra.edge import release_values
from samu_infra.stackfile import parse_config
from samu_operator.core import asterisk, desired, netpol, pbx_pod, sizing
from samu_operator.core import pbx_contract as contract
from samu_operator.model import validate_tenant
from tests.helm.charts import EDGE_CHART, REPO, helm
from tests.infra.stackgen import stack_doc
from tests.operator.harness import example

EXAMPLES = ("samu-30", "samu-13", "samu-2a", "samu-974")


def _tenant(name="samu-30"):
    return validate_tenant(example(name))


def _pod(name="samu-30"):
    objs = desired.desired_objects(_tenant(name))
    sts = next(o for o in objs if o["kind"] == "StatefulSet")
    return sts["spec"]["template"]["spec"], objs


def _container(pod, name):
    return next(c for c in pod["containers"] if c["name"] == name)


def _directories(conf: str) -> dict[str, str]:
    body = re.search(r"^\[directories\]\n(.*?)(?=^\[|\Z)", conf, re.S | re.M).group(1)
    return dict(re.findall(r"^(\w+) => (\S+)$", body, re.M))


@pytest.mark.parametrize("name", EXAMPLES)
def test_every_path_of_asterisk_conf_is_a_mount_or_the_image(name):
    tenant = _tenant(name)
    pod, objs = _pod(name)
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in _container(pod, "asterisk")["volumeMounts"]}
    directories = _directories(asterisk.asterisk_conf(tenant.name, tenant.spec))
    assert set(directories) >= {"astetcdir", "astdbdir", "astspooldir", "astrundir", "astlogdir"}
    for key, path in directories.items():
        if path in contract.IMAGE_DIRS:
            assert not any(path.startswith(m) for m in mounts), f"{key}: the image's {path} hidden"
            continue
        assert path in mounts, f"{key} => {path} is not mounted in the asterisk container"
        volume = volumes[mounts[path]["name"]]
        if key == "astetcdir":
            assert mounts[path]["readOnly"] and volume["configMap"]["name"] == desired.CONFIG_NAME
        else:  # written by Asterisk under a read-only root
            assert not mounts[path]["readOnly"], f"{key} => {path} must be writable"
            assert "emptyDir" in volume or "persistentVolumeClaim" in volume
    assert _container(pod, "asterisk")["securityContext"]["readOnlyRootFilesystem"] is True
    # Asterisk starts from the mounted asterisk.conf, and every file it reads is in the ConfigMap.
    args = _container(pod, "asterisk")["args"]
    assert args[args.index("-C") + 1] == f"{directories['astetcdir']}/asterisk.conf"
    config = next(o for o in objs if o["kind"] == "ConfigMap")
    assert {"asterisk.conf", "modules.conf", "pjsip.conf", "extensions.conf"} <= set(config["data"])
    # The edge's credentials: the Secret's key at the path pjsip.conf includes.
    include = re.search(r"^#include (\S+)$", asterisk.pjsip_conf(tenant.name, tenant.spec), re.M)
    directory, _, key = include.group(1).rpartition("/")
    assert volumes[mounts[directory]["name"]]["secret"]["secretName"] == desired.SECRET_NAME
    assert key == desired.SECRET_KEY
    # Recordings: MixMonitor's directory is the recordings PVC.
    rec = mounts[contract.RECORDINGS_DIR]
    assert "persistentVolumeClaim" in volumes[rec["name"]] and not rec["readOnly"]
    assert contract.RECORDINGS_DIR in asterisk.extensions_conf(tenant.name, tenant.spec)


def test_the_mount_check_fails_when_a_directory_is_not_mounted():
    pod, _ = _pod()
    mounts = [m for m in _container(pod, "asterisk")["volumeMounts"] if m["name"] != "db"]
    assert contract.DB_DIR not in {m["mountPath"] for m in mounts}
    assert contract.DIRECTORIES["astdbdir"] == contract.DB_DIR


def test_the_edge_address_is_the_service_the_edge_chart_creates():
    """One source: the PBX's EDGE_HOST names the chart's SIP Service in the edge Namespace,
    as the Pulumi program releases it (release samu-edge)."""
    cfg = parse_config(stack_doc("dev")["config"], "dev", REPO)
    values = release_values(cfg, "192.0.2.10")
    result = helm("render", EDGE_CHART, values, name="samu-edge", namespace=cfg.edge.namespace)
    services = [
        doc
        for template, text in result["manifests"].items()
        if not template.endswith("NOTES.txt")
        for doc in yaml.safe_load_all(text)
        if doc and doc["kind"] == "Service"
    ]
    sip = [
        s for s in services if {p["port"] for p in s["spec"]["ports"]} >= {contract.PORTS["sip"]}
    ]
    assert [s["metadata"]["name"] for s in sip] == [contract.EDGE_SERVICE]
    assert cfg.edge.namespace == contract.EDGE_NAMESPACE == netpol.EDGE_NAMESPACE
    assert (
        f"{contract.EDGE_SERVICE}.{contract.EDGE_NAMESPACE}.svc.cluster.local" == contract.EDGE_HOST
    )
    release = (REPO / "infra" / "samu_infra" / "edge_release.py").read_text(encoding="utf-8")
    assert 'name="samu-edge",' in release, "the program releases the edge chart as samu-edge"
    pjsip = asterisk.pjsip_conf("samu-30", _tenant().spec)
    assert f"contact = sip:{contract.EDGE_HOST}:" in pjsip
    # A ClusterIP never sends: the edge is identified by its pods' network, not the Service.
    assert f"match = {contract.EDGE_HOST}" not in pjsip
    assert all(f"match = {cidr}" in pjsip for cidr in contract.EDGE_SOURCE_CIDRS)


def test_rtp_ports_are_the_network_policys():
    tenant = _tenant()
    rtp = contract.rtp_conf(tenant.name, tenant.spec.display_name)
    start = int(re.search(r"^rtpstart = (\d+)$", rtp, re.M).group(1))
    end = int(re.search(r"^rtpend = (\d+)$", rtp, re.M).group(1))
    policy = next(
        p
        for p in netpol.network_policies("samu-30")
        if p["metadata"]["name"] == "allow-sip-from-edge"
    )
    (udp,) = [p for p in policy["spec"]["ingress"][0]["ports"] if "endPort" in p]
    assert (udp["port"], udp["endPort"]) == (start, end)


def test_modules_conf_loads_exactly_the_contracts_modules():
    tenant = _tenant()
    text = contract.modules_conf(tenant.name, tenant.spec.display_name)
    assert "autoload = no" in text
    assert re.findall(r"^load = (\S+)", text, re.M) == list(contract.MODULES)


def test_every_rendered_file_is_reloaded_or_marked_for_restart():
    tenant = _tenant()
    files = set(asterisk.render(tenant.name, tenant.spec)) - {contract.RELOAD_MAP}
    assert files | {desired.SECRET_KEY} == set(contract.RELOAD_COMMANDS)
    assert {f for f, c in contract.RELOAD_COMMANDS.items() if c == "restart"} == {
        "asterisk.conf",
        "modules.conf",
    }


def test_the_shipper_sidecar_follows_the_recordings_contract():
    pod, objs = _pod()
    shipper = _container(pod, "recording-shipper")
    env = {e["name"]: e["value"] for e in shipper["env"]}
    assert shipper["command"] == ["python", "-m", "samu_recordings.shipper"]
    assert env == {
        "SAMU_SHIPPER_SOURCE": "pbx",
        "SAMU_SHIPPER_SPOOL": "/var/spool/asterisk/recordings",
        "SAMU_SHIPPER_STATE": contract.SHIPPER_STATE_DIR,
        "SAMU_SHIPPER_TENANT": "samu-30",
        "SAMU_SHIPPER_ZONE": "fr-par-1a",
        "SAMU_SHIPPER_METRICS_PORT": "9102",
    }
    # The store's credentials; optional, so that a missing Secret never keeps a PBX down.
    assert shipper["envFrom"] == [
        {"secretRef": {"name": "samu-recordings-store", "optional": True}}
    ]
    # Spool and journal on the recordings PVC (the journal survives a restart), the spool
    # being the very directory Asterisk writes.
    volumes = {v["name"]: v for v in pod["volumes"]}
    by_path = {m["mountPath"]: m for m in shipper["volumeMounts"]}
    spool, state = by_path[env["SAMU_SHIPPER_SPOOL"]], by_path[env["SAMU_SHIPPER_STATE"]]
    assert spool["name"] == state["name"] and "persistentVolumeClaim" in volumes[spool["name"]]
    asterisk_rec = next(
        m
        for m in _container(pod, "asterisk")["volumeMounts"]
        if m["mountPath"] == contract.RECORDINGS_DIR
    )
    assert (asterisk_rec["name"], asterisk_rec["subPath"]) == (spool["name"], spool["subPath"])
    assert spool["subPath"] != state["subPath"]
    # Every zone's pod ships its own zone's recordings.
    zones = [
        {
            e["name"]: e["value"]
            for e in _container(o["spec"]["template"]["spec"], "recording-shipper")["env"]
        }["SAMU_SHIPPER_ZONE"]
        for o in objs
        if o["kind"] == "StatefulSet"
    ]
    assert zones == _tenant().spec.pbx.zones
    assert pbx_pod.SHIPPER_METRICS_PORT == 9102


def test_recording_volume_holds_a_day_of_full_capacity_wav():
    """8 kHz 16-bit PCM: 16000 bytes a second a call; the PVC is the shipper's spool and holds
    every call at maxConcurrentCalls for a day of store outage."""
    assert contract.RECORDING_BYTES_PER_SECOND == 8000 * 2
    for name in EXAMPLES:
        spec = _tenant(name).spec
        need = spec.capacity.max_concurrent_calls * 86400 * 16000
        assert sizing.recording_size_gi(spec) * 2**30 >= need
        assert (sizing.recording_size_gi(spec) - 1) * 2**30 < max(need, 9 * 2**30)


def test_call_id_safe_is_the_dialplans_filter():
    assert contract.call_id_safe("a84b4c76e66710@pc33.atlanta.example.com") == (
        "a84b4c76e66710@pc33.atlanta.example.com"
    )
    assert contract.call_id_safe("../x;y/\nz-1_2") == "..xyz-1_2"
    assert f"FILTER({contract.CALL_ID_SAFE_FILTER}," in asterisk.extensions_conf(
        "samu-30", _tenant().spec
    )


def test_sounds_played_are_listed():
    spec = _tenant().spec
    assert spec.ivr.greeting_prompt in contract.SOUNDS
    assert f"Background({spec.ivr.greeting_prompt})" in asterisk.extensions_conf("samu-30", spec)


def test_no_path_of_the_contract_is_machine_specific():
    for path in [
        *contract.DIRECTORIES.values(),
        contract.SHIPPER_STATE_DIR,
        contract.RELOADER_COMMAND,
    ]:
        assert Path(path).is_absolute() and not path.startswith(("/home", "/work", "/tmp"))


def test_the_abandoned_call_reader_reads_asterisks_queue_log_and_alone_holds_a_token():
    pod, objs = _pod()
    reader = _container(pod, "abandoned-calls")
    env = {e["name"]: e["value"] for e in reader["env"]}
    assert reader["command"] == ["python", "-m", "samu_operator.pbx.abandoned"]
    assert (
        env["SAMU_QUEUE_LOG"]
        == contract.QUEUE_LOG
        == f"{contract.DIRECTORIES['astlogdir']}/queue_log"
    )
    assert (env["SAMU_TENANT"], env["SAMU_ZONE"]) == ("samu-30", "fr-par-1a")
    logs = {
        c["name"]: next(m for m in c["volumeMounts"] if m["mountPath"] == contract.LOG_DIR)
        for c in (reader, _container(pod, "asterisk"))
    }
    assert logs["abandoned-calls"]["subPath"] == logs["asterisk"]["subPath"]  # the same files
    assert logs["abandoned-calls"]["name"] == logs["asterisk"]["name"] == "recordings"  # kept
    # Only the reader reaches the API (the ledger), through the binding the operator makes.
    token_holders = [
        c["name"]
        for c in pod["containers"]
        if any(m["name"] == "api-token" for m in c["volumeMounts"])
    ]
    assert token_holders == ["abandoned-calls"] and pod["automountServiceAccountToken"] is False
    (binding,) = [o for o in objs if o["kind"] == "RoleBinding"]
    assert binding["roleRef"]["name"] == desired.LEDGER_CLUSTER_ROLE
    assert binding["subjects"][0]["name"] == pod["serviceAccountName"]
