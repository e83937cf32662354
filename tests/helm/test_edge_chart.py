"""The samu-edge chart (Kamailio), linted and rendered by Helm, and its Kamailio command line
run for real on loopback with the chart's own files."""

import contextlib
import functools
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import kubernetes_validate
import pytest

from samu_operator.core import edge_positions
from samu_operator.core.routing import build_routing
from tests.edge.tls import self_signed
from tests.helm.charts import (
    EDGE_CHART,
    OLDEST_KUBE,
    REQUIRED_LABELS,
    HelmError,
    helm,
    render,
    selects,
)
from tests.helm.podsecurity import restricted_violations

CONFIG = EDGE_CHART / "files" / "kamailio.cfg"
TLS_ON = {"sip": {"advertise": "192.0.2.10", "tls": {"enabled": True, "secretName": "edge-tls"}}}
ALL_ON = {
    **TLS_ON,
    "serviceMonitor": {"enabled": True},
    "networkPolicy": {"legacyTrunks": {"cidrs": ["10.13.9.0/24"]}},
}


@pytest.mark.parametrize("values", [{}, ALL_ON], ids=["defaults", "all-enabled"])
@pytest.mark.parametrize("kube", [None, f"v{OLDEST_KUBE}"], ids=["newest", "oldest"])
def test_helm_lint_strict_is_clean(values, kube):
    report = helm("lint", EDGE_CHART, values, kube_version=kube)
    assert [m for m in report["messages"] if m["severity"] >= 2] == [] and report["errors"] == []


@pytest.mark.parametrize("values", [{}, ALL_ON], ids=["defaults", "all-enabled"])
@pytest.mark.parametrize("kube", [kubernetes_validate.latest_version(), OLDEST_KUBE])
def test_every_object_validates_and_is_labelled(values, kube):
    for template, obj in render(EDGE_CHART, values).objects:
        labels = obj["metadata"].get("labels", {})
        assert all(k in labels for k in REQUIRED_LABELS), f"{template}: labels {labels}"
        if obj["kind"] == "ServiceMonitor":
            continue
        try:
            kubernetes_validate.validate(obj, kube, strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{template}: {obj['kind']} {obj['metadata']['name']}: {exc}")


def _config_maps(values=None) -> dict[str, dict]:
    return {
        cm["metadata"]["name"].rsplit("-", 1)[-1]: cm
        for cm in render(EDGE_CHART, values).of_kind("ConfigMap")
    }


def test_configmap_carries_every_file_of_files_unchanged():
    data = _config_maps()["config"]["data"]
    # Every file of files/ but the documentation (.helmignore keeps files/*.md out).
    files = sorted(p for p in (EDGE_CHART / "files").iterdir() if p.is_file() and p.suffix != ".md")
    assert set(data) == {p.name for p in files}
    assert files, "files/ must hold the Kamailio config"
    for path in files:
        assert data[path.name] == path.read_text(encoding="utf-8").rstrip("\n") + "\n", path.name


def test_seed_tables_are_what_the_operator_writes_for_no_tenant():
    seed = _config_maps()["seed"]["data"]
    empty = build_routing([])
    assert seed == {
        "dispatcher.list": empty.dispatcher_list(),
        "routing": empty.routing_map(),
        "subscriber": edge_positions.subscriber_table([]),
        "address": edge_positions.address_table([]),
        "version": edge_positions.version_table(),
    }, (
        "the seed ConfigMap in helm/samu-edge/templates/configmap.yaml must follow the table "
        "formats of samu_operator.core.routing and samu_operator.core.edge_positions"
    )


def _pod(values=None) -> dict:
    return render(EDGE_CHART, values).one("Deployment")["spec"]["template"]["spec"]


def _container(pod: dict, name: str) -> dict:
    return next(c for c in pod["containers"] if c["name"] == name)


def _defines(args: list[str]) -> dict[str, str]:
    """Kamailio `-A NAME=value` pairs."""
    pairs = [args[i + 1] for i, a in enumerate(args) if a == "-A"]
    return {name: value for name, _, value in (p.partition("=") for p in pairs)}


def test_edges_spread_over_zones_under_restricted_pod_security():
    dep = render(EDGE_CHART).one("Deployment")
    assert dep["spec"]["replicas"] >= 3
    pod = dep["spec"]["template"]["spec"]
    labels = dep["spec"]["template"]["metadata"]["labels"]
    zone = [
        c
        for c in pod["topologySpreadConstraints"]
        if c["topologyKey"] == "topology.kubernetes.io/zone"
    ]
    assert zone and zone[0]["whenUnsatisfiable"] == "DoNotSchedule"
    assert selects(zone[0]["labelSelector"]["matchLabels"], labels)
    assert restricted_violations(pod) == []
    assert restricted_violations(_pod(TLS_ON)) == []
    assert {c["name"] for c in pod["containers"]} == {"kamailio", "rtpengine", "routing-sync"}


def test_kamailio_sets_only_parameters_its_config_declares():
    declared = set(re.findall(r"^#!ifn?def\s+(\w+)", CONFIG.read_text(encoding="utf-8"), re.M))
    for values in ({}, TLS_ON):
        args = _container(_pod(values), "kamailio")["args"]
        assert set(_defines(args)) <= declared, set(_defines(args)) - declared


def test_ports_services_and_metrics_agree():
    rendered = render(EDGE_CHART, ALL_ON)
    pod = rendered.one("Deployment")["spec"]["template"]["spec"]
    kamailio = _container(pod, "kamailio")
    ports = {p["name"]: p for p in kamailio["ports"]}
    defines = _defines(kamailio["args"])
    assert ports["http-metrics"]["containerPort"] == int(defines["EDGE_HTTP_PORT"])
    assert defines["EDGE_HTTP_LISTEN"].endswith(f":{defines['EDGE_HTTP_PORT']}")
    assert (ports["sip-udp"]["protocol"], ports["sip-tcp"]["protocol"]) == ("UDP", "TCP")
    assert "WITH_TLS" in defines and ports["sip-tls"]["containerPort"] == 5061
    services = {s["metadata"]["name"].rsplit("-", 1)[-1]: s for s in rendered.of_kind("Service")}
    sip = services["sip"]
    assert sip["spec"]["type"] == "LoadBalancer"
    assert {(p["targetPort"], p["protocol"]) for p in sip["spec"]["ports"]} == {
        ("sip-udp", "UDP"),
        ("sip-tcp", "TCP"),
        ("sip-tls", "TCP"),
    }
    assert {p["targetPort"] for p in services["metrics"]["spec"]["ports"]} == {
        "http-metrics",
        "rtpe-metrics",
    }
    monitor = rendered.one("ServiceMonitor")
    assert selects(
        monitor["spec"]["selector"]["matchLabels"], services["metrics"]["metadata"]["labels"]
    )
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    # TLS: the generated tls.cfg points at the mounted Secret.
    tls_cfg = _config_maps(ALL_ON)["config"]["data"]["tls.cfg"]
    mount = next(m for m in kamailio["volumeMounts"] if m["name"] == "tls")
    assert f"certificate = {mount['mountPath']}/tls.crt" in tls_cfg


def test_tls_without_a_secret_is_refused_by_name():
    with pytest.raises(HelmError, match=r"sip\.tls\.secretName"):
        helm("render", EDGE_CHART, {"sip": {"tls": {"enabled": True}}})


def test_pdb_never_allows_every_edge_down():
    assert render(EDGE_CHART).one("PodDisruptionBudget")["spec"]["maxUnavailable"] == 1
    with pytest.raises(HelmError, match=r"podDisruptionBudget\.maxUnavailable"):
        helm("render", EDGE_CHART, {"podDisruptionBudget": {"maxUnavailable": 3}})


def test_routing_sidecar_may_only_read_tenants_and_publish_dropped_calls():
    """... and read the positions' hashes the operator publishes for it, by name only."""
    rendered = render(EDGE_CHART)
    assert rendered.one("ClusterRole")["rules"] == [
        {
            "apiGroups": ["samu-platform.io"],
            "resources": ["samutenants"],
            "verbs": ["list", "watch"],
        },
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "create", "patch"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create"]},
        {
            "apiGroups": [""],
            "resources": ["secrets"],
            "resourceNames": ["edge-positions"],
            "verbs": ["get"],
        },
    ]
    off = render(EDGE_CHART, {"routingSync": {"enabled": False}})
    assert "ClusterRole" not in off.kinds()
    assert (
        off.one("Deployment")["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    )


_EDGE_HANDLERS_PROBE = """
import importlib, json, sys
module = importlib.import_module(sys.argv[1])
import kopf
reg = kopf.get_default_registry()
subs = (reg._activities, reg._indexing, reg._watching, reg._spawning, reg._changing)
ids = [h.id for sub in subs for h in sub.get_all_handlers()]
print(json.dumps({"dir": module.DIR_ENV, "rpc": module.RPC_ENV, "handlers": ids}))
"""


@functools.cache
def _sidecar_module() -> tuple[dict, dict]:
    sync = _container(_pod(), "routing-sync")
    args = sync["args"]
    module = args[args.index("-m") + 1]
    probe = subprocess.run(
        [sys.executable, "-c", _EDGE_HANDLERS_PROBE, module],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return sync, json.loads(probe.stdout)


def test_routing_sidecar_writes_where_kamailio_reads_and_reloads_it():
    pod = _pod()
    sync, found = _sidecar_module()
    assert sync["command"] == ["kopf"] and sync["args"][:2] == ["run", "--standalone"]
    env = {e["name"]: e.get("value") for e in sync["env"]}
    tables = {m["name"]: m["mountPath"] for m in sync["volumeMounts"]}["tables"]
    assert env[found["dir"]] == tables
    kamailio_tables = {
        m["name"]: m["mountPath"] for m in _container(pod, "kamailio")["volumeMounts"]
    }
    assert kamailio_tables["tables"] == tables
    defines = _defines(_container(pod, "kamailio")["args"])
    assert env[found["rpc"]] == f"http://127.0.0.1:{defines['EDGE_HTTP_PORT']}/RPC"
    assert "edge_tenant_event" in found["handlers"]


def test_routing_sidecar_runs_only_the_edge_handlers():
    # Importing anything under samu_operator.handlers would register the whole operator: the
    # sidecar would reconcile and fail over tenants too.
    _, found = _sidecar_module()
    others = {h for h in found["handlers"] if not h.startswith("edge_")}
    assert others <= {"login_via_client"}, f"the sidecar would also run {sorted(others)}"


# --- the chart's Kamailio command line, run for real --------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _localise(args: list[str], tmp: Path, sip: int, http: int, tls: int) -> list[str]:
    """The chart's arguments with container paths and addresses moved to tmp and loopback."""
    out = []
    dmq = _free_port()
    for arg in args:
        arg = re.sub(r":5090\b|=5090$", lambda m: m[0].replace("5090", str(dmq)), arg)
        arg = arg.replace("0.0.0.0", "127.0.0.1").replace("$(POD_IP)", "127.0.0.1")
        arg = arg.replace("/etc/kamailio/edge", str(tmp / "edge"))
        arg = arg.replace("/etc/kamailio/tls", str(tmp / "tls"))
        arg = re.sub(r":5060\b", f":{sip}", arg)
        arg = re.sub(r":5061\b", f":{tls}", arg)
        arg = re.sub(r":8080\b|=8080$", lambda m: m[0].replace("8080", str(http)), arg)
        out.append(arg)
    return [
        *out,
        *("-A", f'EDGE_DISPATCHER_LIST="{tmp}/samu/dispatcher.list"'),
        *("-A", f'EDGE_ROUTING_DB="text://{tmp}/samu"'),
        *("-A", f'EDGE_CTL_SOCKET="unix:{tmp}/run/ctl"'),
        *("-A", f'EDGE_RUNDIR="{tmp}/run"'),
    ]


def write_chart_files(values: dict, root: Path) -> None:
    """The chart's ConfigMaps as the pod mounts them (edge/, samu/), under ``root``, with the
    TLS Secret's mount point moved to ``root/tls``; and Kamailio's run directory."""
    maps = _config_maps(values)
    for sub, data in (("edge", maps["config"]["data"]), ("samu", maps["seed"]["data"])):
        (root / sub).mkdir()
        for name, text in data.items():
            (root / sub / name).write_text(text.replace("/etc/kamailio/tls", str(root / "tls")))
    (root / "run").mkdir()


@dataclass
class ChartKamailio:
    """A Kamailio started from the chart's command line: its process, log and loopback ports."""

    proc: subprocess.Popen[bytes]
    log: Path
    sip: int
    http: int
    tls: int


@contextlib.contextmanager
def chart_kamailio(values: dict, root: Path) -> Iterator[ChartKamailio]:
    """The chart's Kamailio command line for ``values``, run on loopback over the files that
    write_chart_files laid out under ``root`` (log in ``root/kamailio.log``); stopped on exit."""
    sip, http, tls = _free_port(), _free_port(), _free_port()
    args = _localise(_container(_pod(values), "kamailio")["args"], root, sip, http, tls)
    args[args.index("-m") + 1] = "64"  # the test needs far less than production
    log = root / "kamailio.log"
    # the pod's environment: the key of the chart's Secret
    env = {**os.environ, "SAMU_EDGE_RR_KEY": secrets.token_hex(32)}
    with log.open("w") as out:
        proc = subprocess.Popen(["kamailio", *args], stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        yield ChartKamailio(proc, log, sip, http, tls)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.mark.sip
@pytest.mark.parametrize("values", [{}, TLS_ON], ids=["plain", "tls"])
def test_kamailio_starts_with_the_charts_files_and_serves_metrics(values, tmp_path):
    if shutil.which("kamailio") is None:
        pytest.skip("kamailio is not installed (make test installs it)")
    if values and shutil.which("openssl") is None:
        pytest.skip("openssl is missing: cannot make the test certificate")
    write_chart_files(values, tmp_path)
    if values:
        (tmp_path / "tls").mkdir()
        self_signed(tmp_path / "tls", "edge", key_name="tls.key", cert_name="tls.crt")
    with chart_kamailio(values, tmp_path) as kamailio:
        http, proc = kamailio.http, kamailio.proc
        deadline = time.monotonic() + 30
        body = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                rpc = json.dumps({"jsonrpc": "2.0", "method": "xhttp_prom.counter_inc", "id": 1,
                                  "params": ["samu_edge_call_attempts_total", 1, "samu-30"]})  # fmt: skip
                urllib.request.urlopen(
                    f"http://127.0.0.1:{http}/RPC", rpc.encode(), timeout=2
                ).read()
                body = (
                    urllib.request.urlopen(f"http://127.0.0.1:{http}/metrics", timeout=2)
                    .read()
                    .decode()
                )
                break
            except OSError:
                time.sleep(0.1)
        assert body is not None, kamailio.log.read_text()[-3000:]
        assert 'kamailio_samu_edge_call_attempts_total{samu="samu-30"} 1' in body
        # The SIP listeners are open (Kamailio keeps running without them on a bad listen).
        for port in (kamailio.sip, kamailio.tls) if values else (kamailio.sip,):
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                pass


# --- the edge, the operator and the tenants agree on who may talk to whom -----------------


def _tenant_objects() -> list[dict]:
    from samu_operator.core.desired import desired_objects
    from samu_operator.model.tenant import SamuTenant
    from tests.conftest import load_samu30

    return desired_objects(SamuTenant.model_validate(load_samu30()))


def test_edge_reaches_the_tenants_and_is_admitted_by_them():
    from samu_operator.core.meta import SIP_PORT
    from samu_operator.core.netpol import EDGE_NAMESPACE

    objects = _tenant_objects()
    namespace = next(o for o in objects if o["kind"] == "Namespace")
    policy = render(EDGE_CHART).one("NetworkPolicy")
    to_pbx = policy["spec"]["egress"][0]
    assert selects(
        to_pbx["to"][0]["namespaceSelector"]["matchLabels"], namespace["metadata"]["labels"]
    )
    assert {p["port"] for p in to_pbx["ports"]} == {SIP_PORT}
    # The tenants admit SIP from the edge's namespace by name: the NOTES say where to install.
    admitted = [
        peer["namespaceSelector"]["matchLabels"]
        for o in objects
        if o["kind"] == "NetworkPolicy"
        for rule in o["spec"].get("ingress", [])
        for peer in rule.get("from", [])
        if "namespaceSelector" in peer
    ]
    assert {"kubernetes.io/metadata.name": EDGE_NAMESPACE} in admitted
    assert f'namespace "{EDGE_NAMESPACE}"' in render(EDGE_CHART).notes  # rendered in samu-system


def test_prometheus_namespace_is_the_one_the_tenants_admit():
    from samu_operator.core.netpol import MONITORING_NAMESPACE
    from tests.helm.charts import OPERATOR_CHART, load_values

    expected = {"matchLabels": {"kubernetes.io/metadata.name": MONITORING_NAMESPACE}}
    for chart in (OPERATOR_CHART, EDGE_CHART):
        assert load_values(chart)["networkPolicy"]["monitoring"]["namespaceSelector"] == expected


def test_old_platforms_are_reachable_only_when_their_ranges_are_given():
    policy = render(EDGE_CHART).one("NetworkPolicy")
    assert "10.13.9.0/24" not in json.dumps(policy)
    values = {**TLS_ON, "networkPolicy": {"legacyTrunks": {"cidrs": ["10.13.9.0/24"]}}}
    policy = render(EDGE_CHART, values).one("NetworkPolicy")
    block = {"ipBlock": {"cidr": "10.13.9.0/24"}}
    [out] = [r for r in policy["spec"]["egress"] if block in r.get("to", [])]
    assert {"port": 5061, "protocol": "TCP"} in out["ports"] and {"protocol": "UDP"} in out["ports"]
    [into] = [r for r in policy["spec"]["ingress"] if block in r.get("from", [])]
    assert {"port": "sip-tls", "protocol": "TCP"} in into["ports"]
    assert any(p.get("endPort") for p in into["ports"])  # their RTP
