"""One media path, said alike by the infra, the edge chart and rtpengine: each edge node has its
own floating IP (1:1 NAT to the node), the Pulumi program writes it on the node as the label
samu-platform.io/media-address, the edge runs on the node's network and an init container
puts that label's address in rtpengine's carrier interface, on the stack's RTP range."""

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from samu_infra.edge import release_values
from samu_infra.edge_release import NAMESPACE_LABELS
from samu_infra.guardrails_sip import MEDIA_ADDRESS_LABEL
from samu_infra.stackfile import parse_config
from samu_lab.ngcall import NgClient  # rtpengine's ng client, wherever it lives
from samu_lab.procs import stop_process
from samu_operator.edge.media_address import MediaAddressError, media_address, rtpengine_config
from tests.helm.charts import EDGE_CHART, HelmError, render
from tests.helm.podsecurity import restricted_violations
from tests.helm.test_edge_chart import _container, _free_port
from tests.helm.test_edge_media_chart import _flags
from tests.infra.stackgen import REPO, stack_doc

ADVERTISE = "192.0.2.10"  # the SIP edge LB's floating IP
NODE_ADDRESS = "203.0.113.7"  # one edge node's media floating IP


def _released(stack: str) -> tuple[object, dict]:
    cfg = parse_config(stack_doc(stack)["config"], stack, REPO)
    return cfg, render(EDGE_CHART, release_values(cfg, ADVERTISE))


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_released_edge_advertises_each_nodes_own_media_address(stack):
    cfg, rendered = _released(stack)
    pod = rendered.one("Deployment")["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is True
    # the address comes from the label the program writes on each edge node
    [init] = [c for c in pod["initContainers"] if c["name"] == "media-address"]
    env = {e["name"]: e.get("value") for e in init["env"]}
    assert env["SAMU_MEDIA_ADDRESS_LABEL"] == MEDIA_ADDRESS_LABEL
    assert init["command"] == ["python", "-m", "samu_operator.edge.media_address"]
    rtpengine = _container(pod, "rtpengine")
    flags = _flags(rtpengine["args"])
    config = flags["--config-file"][0]
    assert "--interface" not in flags, "both interfaces come from the file the init writes"
    assert Path(config).parent.as_posix() == Path(env["SAMU_MEDIA_CONFIG"]).parent.as_posix()
    mounts = {m["mountPath"]: m["name"] for m in rtpengine["volumeMounts"]}
    init_mounts = {m["mountPath"]: m["name"] for m in init["volumeMounts"]}
    assert mounts[str(Path(config).parent)] == init_mounts[str(Path(config).parent)]
    # on the stack's RTP range, the one the nodes' media group admits from the carrier
    rtp = cfg.edge.rtp_port_range
    assert (int(flags["--port-min"][0]), int(flags["--port-max"][0])) == (rtp.min, rtp.max)
    # only on nodes that have a media address
    [term] = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    assert term["matchExpressions"] == [{"key": MEDIA_ADDRESS_LABEL, "operator": "Exists"}]
    # the init reads its node: get on nodes, bound to the pod's service account, token mounted
    roles = {r["metadata"]["name"]: r for r in rendered.of_kind("ClusterRole")}
    [binding] = [
        b for b in rendered.of_kind("ClusterRoleBinding") if "media-address" in b["roleRef"]["name"]
    ]
    assert roles[binding["roleRef"]["name"]]["rules"] == [
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}
    ]
    assert binding["subjects"][0]["name"] == pod["serviceAccountName"]
    assert pod["automountServiceAccountToken"] is True
    # the namespace the program creates admits the host network, and nothing else is broken
    assert NAMESPACE_LABELS["pod-security.kubernetes.io/enforce"] == "privileged"
    assert restricted_violations(pod) == ["spec.hostNetwork must be false"]


def test_one_address_for_all_or_each_nodes_own_not_both():
    both = {"media": {"network": {"mode": "hostNetwork", "advertise": "192.0.2.20",
                                  "advertiseNodeLabel": MEDIA_ADDRESS_LABEL}}}  # fmt: skip
    with pytest.raises(HelmError, match="not both"):
        render(EDGE_CHART, both)
    multus = {"media": {"network": {"advertiseNodeLabel": MEDIA_ADDRESS_LABEL}}}
    with pytest.raises(HelmError, match="hostNetwork"):
        render(EDGE_CHART, multus)


def test_a_node_without_a_usable_address_stops_the_pod_with_the_fix():
    assert media_address("edge-1", {MEDIA_ADDRESS_LABEL: NODE_ADDRESS}, MEDIA_ADDRESS_LABEL) == (
        NODE_ADDRESS
    )
    for labels in ({}, {MEDIA_ADDRESS_LABEL: "edge.example"}, {MEDIA_ADDRESS_LABEL: "0.0.0.0"}):
        with pytest.raises(MediaAddressError, match=rf"edge-1.*{re.escape(MEDIA_ADDRESS_LABEL)}"):
            media_address("edge-1", labels, MEDIA_ADDRESS_LABEL)


def test_rtpengine_advertises_the_nodes_address_to_the_carrier(tmp_path):
    """The chart's rtpengine command line in this mode, with the file the init container
    writes, run for real: the carrier's side of the SDP carries the node's media address."""
    if shutil.which("rtpengine") is None:
        pytest.skip("rtpengine is not installed (make debs installs rtpengine-daemon)")
    _cfg, rendered = _released("dev")
    pod = rendered.one("Deployment")["spec"]["template"]["spec"]
    conf = tmp_path / "rtpengine.conf"
    conf.write_text(rtpengine_config("127.0.0.1", NODE_ADDRESS))
    ng, http = _free_port(), _free_port()
    args = []
    for arg in _container(pod, "rtpengine")["args"]:
        arg = arg.replace("$(POD_IP)", "127.0.0.1").replace("/var/spool/rtpengine", str(tmp_path))
        arg = re.sub(r"^--config-file=.*", f"--config-file={conf}", arg)
        arg = re.sub(r"^--listen-ng=.*", f"--listen-ng=127.0.0.1:{ng}", arg)
        arg = re.sub(r"^--listen-http=.*", f"--listen-http=127.0.0.1:{http}", arg)
        args.append(arg)
    log = tmp_path / "rtpengine.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(["rtpengine", *args], cwd=tmp_path, stdout=out, stderr=out)
    try:
        client = NgClient("127.0.0.1", ng, timeout=0.5, retries=0)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.command("ping")
                break
            except Exception:
                assert time.monotonic() < deadline and proc.poll() is None, log.read_text()[-2000:]
                time.sleep(0.1)
        sdp = (
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
            "m=audio 5000 RTP/AVP 0\r\n"
        )
        # Kamailio's offer from the carrier: direction=carrier direction=internal
        offer = {"call-id": "c1", "from-tag": "a", "sdp": sdp, "direction": ["carrier", "internal"]}
        to_pbx = client.command("offer", **offer)["sdp"]
        # and its answer to the PBX's 200 OK (no direction: rtpengine knows the call's)
        answer = {"call-id": "c1", "from-tag": "a", "to-tag": "b", "sdp": sdp}
        to_carrier = client.command("answer", **answer)["sdp"]
        assert f"c=IN IP4 {NODE_ADDRESS}" in to_carrier
        assert "c=IN IP4 127.0.0.1" in to_pbx and NODE_ADDRESS not in to_pbx
    finally:
        stop_process(proc, timeout=15)
