"""The edge chart's media part: rtpengine beside Kamailio (the address the carrier's RTP
reaches, its RTP range, its metrics and probes, the recording spool shared with the shipper
slot), rendered by Helm, and rtpengine's command line run for real on loopback."""

import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helm.charts import EDGE_CHART, HelmError, helm, load_values, render
from tests.helm.podsecurity import restricted_violations
from tests.helm.test_edge_chart import _container, _defines, _free_port, _pod

HOST_NETWORK = {"media": {"network": {"mode": "hostNetwork"}}}
SHIPPER = {
    "recordings": {
        "shipper": {"enabled": True, "command": ["python", "-m", "samu_recordings.shipper"]}
    },
    "serviceMonitor": {"enabled": True},
}


def _flags(args: list[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for arg in args:
        name, _, value = arg.partition("=")
        out.setdefault(name, []).append(value)
    return out


def test_kamailio_drives_the_rtpengine_of_its_own_pod():
    pod = _pod()
    defines = _defines(_container(pod, "kamailio")["args"])
    rtpengine = _flags(_container(pod, "rtpengine")["args"])
    assert defines["EDGE_RTPENGINE_SOCK"] == f'"udp:{rtpengine["--listen-ng"][0]}"'
    assert rtpengine["--listen-ng"][0].startswith("127.0.0.1:"), "control on localhost only"
    assert rtpengine["--table"] == ["-1"] and rtpengine["--recording-method"] == ["pcap"]
    # a dead rtpengine may not delay a call set-up beyond the PBX's first-reply timer
    wait = int(defines["EDGE_RTPENGINE_TOUT_MS"]) * int(defines["EDGE_RTPENGINE_RETR"])
    assert wait < int(defines["EDGE_FR_TIMER"])


def test_multus_carrier_interface_keeps_the_pod_restricted():
    dep = render(EDGE_CHART).one("Deployment")
    pod = dep["spec"]["template"]["spec"]
    annotations = dep["spec"]["template"]["metadata"]["annotations"]
    assert annotations["k8s.v1.cni.cncf.io/networks"] == "samu-edge-carrier@net1"
    interfaces = _flags(_container(pod, "rtpengine")["args"])["--interface"]
    assert interfaces == ["carrier/net1", "internal/$(POD_IP)"]
    assert restricted_violations(pod) == [] and not pod.get("hostNetwork")


def test_host_network_is_explicit_and_outside_restricted():
    dep = render(EDGE_CHART, HOST_NETWORK).one("Deployment")
    pod = dep["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is True and pod["dnsPolicy"] == "ClusterFirstWithHostNet"
    assert "k8s.v1.cni.cncf.io/networks" not in dep["spec"]["template"]["metadata"]["annotations"]
    interfaces = _flags(_container(pod, "rtpengine")["args"])["--interface"]
    assert interfaces[0] == "carrier/$(POD_IP)"
    # the only control it breaks is the host network (so the namespace enforces "privileged")
    assert restricted_violations(pod) == ["spec.hostNetwork must be false"]


def test_advertised_media_address_goes_in_the_carrier_interface():
    values = {"media": {"network": {"advertise": "192.0.2.20"}}}
    interfaces = _flags(_container(_pod(values), "rtpengine")["args"])["--interface"]
    assert interfaces[0] == "carrier/net1!192.0.2.20"


def test_rtp_range_reaches_rtpengine_and_the_network_policy():
    values = {"media": {"rtpPorts": {"min": 40000, "max": 40999}}}
    values["networkPolicy"] = {"carrierCidrs": ["198.51.100.0/24"]}
    rendered = render(EDGE_CHART, values)
    flags = _flags(
        _container(rendered.one("Deployment")["spec"]["template"]["spec"], "rtpengine")["args"]
    )
    assert (flags["--port-min"], flags["--port-max"]) == (["40000"], ["40999"])
    policy = rendered.one("NetworkPolicy")["spec"]
    rtp = [r for r in policy["ingress"] if any(p.get("endPort") for p in r["ports"])]
    assert [r["ports"] for r in rtp] == [[{"port": 40000, "endPort": 40999, "protocol": "UDP"}]]
    assert {"ipBlock": {"cidr": "198.51.100.0/24"}} in rtp[0]["from"]
    # out: to the PBX's RTP range, and to the carrier's media addresses
    to_pbx = {"port": 10000, "endPort": 20000, "protocol": "UDP"}
    assert any(
        r["ports"] == [to_pbx] and "namespaceSelector" in r["to"][0] for r in policy["egress"]
    )
    assert any(
        r.get("to") == [{"ipBlock": {"cidr": "198.51.100.0/24"}}]
        and r["ports"] == [{"protocol": "UDP"}]
        for r in policy["egress"]
    )


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"media": {"rtpPorts": {"min": 40000, "max": 30000}}}, r"media\.rtpPorts"),
        (
            {"media": {"control": {"timeoutMs": 300, "retries": 2, "disableSeconds": 5}}},
            r"media\.control.*kamailio\.firstReplyTimeoutMs",
        ),
        ({"recordings": {"shipper": {"enabled": True}}}, r"recordings\.shipper\.command"),
    ],
    ids=["empty-range", "control-too-slow", "shipper-without-command"],
)
def test_inconsistent_media_values_are_refused_by_name(values, message):
    with pytest.raises(HelmError, match=message):
        helm("render", EDGE_CHART, values)


def test_rtpengine_metrics_are_scraped_and_probes_use_its_http_listener():
    rendered = render(EDGE_CHART, {"serviceMonitor": {"enabled": True}})
    rtpengine = _container(rendered.one("Deployment")["spec"]["template"]["spec"], "rtpengine")
    port = {p["name"]: p["containerPort"] for p in rtpengine["ports"]}["rtpe-metrics"]
    assert _flags(rtpengine["args"])["--listen-http"] == [f"$(POD_IP):{port}"]
    for probe in ("readinessProbe", "livenessProbe"):
        assert rtpengine[probe]["httpGet"] == {"path": "/ping", "port": "rtpe-metrics"}
    services = {s["metadata"]["name"]: s for s in rendered.of_kind("Service")}
    metrics = next(s for name, s in services.items() if name.endswith("-metrics"))
    assert {
        "name": "rtpe-metrics",
        "port": port,
        "targetPort": "rtpe-metrics",
        "protocol": "TCP",
    } in (metrics["spec"]["ports"])
    endpoints = rendered.one("ServiceMonitor")["spec"]["endpoints"]
    assert {(e["port"], e["path"]) for e in endpoints} >= {("rtpe-metrics", "/metrics")}


def test_no_shipper_container_until_it_is_enabled_with_its_command():
    pod = _pod()
    assert "recording-shipper" not in {c["name"] for c in pod["containers"]}
    spool = _flags(_container(pod, "rtpengine")["args"])["--recording-dir"][0]
    assert any(m["mountPath"] == spool for m in _container(pod, "rtpengine")["volumeMounts"])


def test_shipper_slot_reads_rtpengines_spool_as_the_recordings_contract_says():
    rendered = render(EDGE_CHART, SHIPPER)
    pod = rendered.one("Deployment")["spec"]["template"]["spec"]
    shipper, rtpengine = _container(pod, "recording-shipper"), _container(pod, "rtpengine")
    assert shipper["command"] == ["python", "-m", "samu_recordings.shipper"]
    env = {e["name"]: e.get("value") for e in shipper["env"]}
    spool = _flags(rtpengine["args"])["--recording-dir"][0]
    assert env["SAMU_SHIPPER_SOURCE"] == "edge" and env["SAMU_SHIPPER_SPOOL"] == spool
    assert env["SAMU_SHIPPER_STATE"].startswith(spool + "/"), "its journal on the spool's volume"
    assert shipper["envFrom"] == [{"secretRef": {"name": "samu-recordings-store"}}]
    mounts = {
        c["name"]: {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
        for c in (shipper, rtpengine)
    }
    assert mounts["recording-shipper"][spool] == mounts["rtpengine"][spool]
    volume = next(v for v in pod["volumes"] if v["name"] == mounts["rtpengine"][spool])
    assert volume["emptyDir"]["sizeLimit"] == "20Gi"
    assert restricted_violations(pod) == []
    endpoints = rendered.one("ServiceMonitor")["spec"]["endpoints"]
    assert "ship-metrics" in {e["port"] for e in endpoints}
    assert int(env["SAMU_SHIPPER_METRICS_PORT"]) == 9102
    # a running call's tenant is asked of Kamailio's JSON-RPC in the same pod
    http_port = load_values(EDGE_CHART)["httpPort"]
    assert env["SAMU_SHIPPER_EDGE_RPC"] == f"http://127.0.0.1:{http_port}/RPC"


# --- the chart's rtpengine command line, run for real --------------------------------------


@pytest.mark.sip
def test_rtpengine_starts_with_the_charts_command_line(tmp_path: Path):
    if shutil.which("rtpengine") is None:
        pytest.skip("rtpengine is not installed (make debs installs rtpengine-daemon)")
    http, ng = _free_port(), _free_port()
    args = []
    for arg in _container(_pod(), "rtpengine")["args"]:
        arg = arg.replace("$(POD_IP)", "127.0.0.1").replace("carrier/net1", "carrier/lo")
        arg = arg.replace("/var/spool/rtpengine", str(tmp_path / "spool"))
        arg = re.sub(r"^--listen-http=127\.0\.0\.1:\d+$", f"--listen-http=127.0.0.1:{http}", arg)
        arg = re.sub(r"^--listen-ng=127\.0\.0\.1:\d+$", f"--listen-ng=127.0.0.1:{ng}", arg)
        args.append(arg)
    (tmp_path / "spool").mkdir()
    log = tmp_path / "rtpengine.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(["rtpengine", *args], cwd=tmp_path, stdout=out, stderr=out)
    try:
        body = None
        deadline = time.monotonic() + 30
        while body is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{http}/ping", timeout=2) as ping:
                    assert ping.read().strip() == b"pong"
                with urllib.request.urlopen(f"http://127.0.0.1:{http}/metrics", timeout=2) as r:
                    body = r.read().decode()
            except OSError:
                time.sleep(0.1)
        assert body is not None, log.read_text()[-3000:]
        assert "rtpengine_sessions" in body and "rtpengine_packets_total" in body
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


def test_rtpengine_sends_to_the_pbx_rtp_ports_the_tenants_admit():
    from samu_operator.core.meta import RTP_PORTS
    from tests.helm.charts import load_values

    rtp = load_values(EDGE_CHART)["networkPolicy"]["pbx"]["rtpPorts"]
    assert (rtp["min"], rtp["max"]) == RTP_PORTS
