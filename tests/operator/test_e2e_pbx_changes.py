"""A running tenant changed, against the emulator: the real Kopf operator.

- positions: their SIP credentials are generated once (the key Secret never overwritten),
  the edge gets HA1 hashes and the site ranges only, a new position keeps the others'
  passwords;
- a spec change reaches the PBX as a new ConfigMap (the reloader sidecar applies it through
  Asterisk's console) and never as a restart: the StatefulSets' pod templates stay as they
  were and the PBX pods are never deleted.
"""

import base64
import copy
import hashlib

import pytest

from samu_operator.core import positions
from tests.operator.harness import apply, obj, patch_tenant, phase, tenant, tenant_doc, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.asyncio(loop_scope="module")]


def _secret(cluster, ns, name):
    found = obj(cluster, "v1/secrets", ns, name)
    if not found:
        return None
    if "data" in found:
        return {k: base64.b64decode(v).decode() for k, v in found["data"].items()}
    return dict(found.get("stringData") or {})


async def test_positions_credentials_and_edge_hashes(shared_cluster, shared_operator):
    cluster = shared_cluster
    doc = tenant_doc("66")
    doc["spec"]["capacity"] = {"agents": 3, "maxConcurrentCalls": 10}
    doc["spec"]["siteRanges"] = ["10.66.0.0/16"]
    await apply(cluster, doc)
    ns = "samu-66"
    edge = await wait_for(
        lambda: _secret(cluster, ns, positions.EDGE_SECRET), timeout=40, what="edge-positions"
    )
    key = _secret(cluster, ns, positions.KEY_SECRET)[positions.KEY_FIELD]
    passwords = _secret(cluster, ns, positions.PASSWORDS_SECRET)
    assert sorted(passwords) == ["samu-66-arm-01", "samu-66-arm-02", "samu-66-arm-03"]
    assert len(set(passwords.values())) == 3 and all(len(p) >= 24 for p in passwords.values())
    # The edge gets account, realm and HA1 only: never a password, never the key.
    rows = [line.split("\t") for line in edge[positions.EDGE_POSITIONS_KEY].splitlines()]
    for account, realm, ha1 in rows:
        expected = hashlib.md5(f"{account}:{realm}:{passwords[account]}".encode()).hexdigest()
        assert (realm, ha1) == ("samu-66", expected)
    text = "".join(edge.values())
    assert key not in text and not any(p in text for p in passwords.values())
    assert edge[positions.EDGE_RANGES_KEY] == "10.66.0.0/16\n"

    # A position added (spec change): the key is the same, so are the others' passwords.
    spec = copy.deepcopy(doc["spec"])
    spec["positions"] = [
        {"name": "arm-01"},
        {"name": "arm-02"},
        {"name": "arm-03"},
        {"name": "vital-1", "queues": ["vital-distress"]},
    ]
    await patch_tenant(cluster, "samu-66", {"spec": spec})
    after = await wait_for(
        lambda: (p := _secret(cluster, ns, positions.PASSWORDS_SECRET)) and len(p) == 4 and p,
        timeout=40,
        what="four positions",
    )
    assert _secret(cluster, ns, positions.KEY_SECRET)[positions.KEY_FIELD] == key
    assert {k: after[k] for k in passwords} == passwords
    config = obj(cluster, "v1/configmaps", ns, "pbx-config")["data"]["queues.conf"]
    vital, general = config.split("[q-general]")
    assert "samu-66-vital-1@" in vital and "samu-66-vital-1@" not in general


async def test_a_spec_change_reloads_and_never_restarts_the_pbx(shared_cluster, shared_operator):
    cluster = shared_cluster
    doc = tenant_doc("67")
    await apply(cluster, doc)
    await wait_for(lambda: phase(cluster, "samu-67") == "Ready", timeout=40, what="Ready")
    ns = "samu-67"
    zones = doc["spec"]["pbx"]["zones"]
    templates = {
        z: obj(cluster, "apps/v1/statefulsets", ns, f"pbx-{z}")["spec"]["template"] for z in zones
    }
    pods = {z: obj(cluster, "v1/pods", ns, f"pbx-{z}-0")["metadata"]["uid"] for z in zones}
    before = obj(cluster, "v1/configmaps", ns, "pbx-config")["data"]

    spec = copy.deepcopy(doc["spec"])
    spec["queues"] = [{**q, "maxWaitSeconds": 45} for q in spec["queues"]]
    spec["ivr"]["greetingPrompt"] = "samu/greeting-nuit"
    await patch_tenant(cluster, "samu-67", {"spec": spec})
    after = await wait_for(
        lambda: (
            (d := obj(cluster, "v1/configmaps", ns, "pbx-config")["data"])
            and "samu/greeting-nuit" in d["extensions.conf"]
            and d
        ),
        timeout=40,
        what="new dialplan in the ConfigMap",
    )
    changed = {f for f in after if after[f] != before.get(f)}
    assert changed == {"extensions.conf"}, changed  # reloadable by the sidecar: dialplan reload
    for zone in zones:
        sts = obj(cluster, "apps/v1/statefulsets", ns, f"pbx-{zone}")
        assert sts["spec"]["template"] == templates[zone], f"pbx-{zone} would restart"
        assert obj(cluster, "v1/pods", ns, f"pbx-{zone}-0")["metadata"]["uid"] == pods[zone]
    assert phase(cluster, "samu-67") == "Ready"


async def test_a_change_needing_a_restart_restarts_standbys_first_then_switches_over(
    shared_cluster, shared_operator
):
    """A new image: Kubernetes restarts nothing (OnDelete); the operator restarts the
    standbys one at a time, moves the calls by a planned switchover, then restarts the old
    active, never while it is active."""
    cluster = shared_cluster
    doc = tenant_doc("68")
    await apply(cluster, doc)
    ns = "samu-68"
    zones = doc["spec"]["pbx"]["zones"]

    def status():
        return (tenant(cluster, "samu-68") or {}).get("status") or {}

    await wait_for(
        lambda: phase(cluster, "samu-68") == "Ready" and status().get("activeZone"),
        timeout=40,
        what="Ready with an active PBX",
    )
    first_active = status()["activeZone"]
    seen: list[tuple[str, str | None]] = []  # (zone whose pod was re-created, active zone then)
    uids = {z: obj(cluster, "v1/pods", ns, f"pbx-{z}-0")["metadata"]["uid"] for z in zones}

    spec = copy.deepcopy(doc["spec"])
    spec["pbx"]["image"] = spec["pbx"]["image"].rsplit(":", 1)[0] + ":20.10.1"
    await patch_tenant(cluster, "samu-68", {"spec": spec})

    def progress():
        for zone in zones:
            pod = obj(cluster, "v1/pods", ns, f"pbx-{zone}-0")
            if pod and pod["metadata"]["uid"] != uids[zone]:
                uids[zone] = pod["metadata"]["uid"]
                seen.append((zone, status().get("activeZone")))
        live = [obj(cluster, "v1/pods", ns, f"pbx-{z}-0") for z in zones]
        if not all(live):
            return False  # one is being re-created
        images = [
            c["image"] for pod in live for c in pod["spec"]["containers"] if c["name"] == "asterisk"
        ]
        ready = [
            c["status"] == "True"
            for pod in live
            for c in pod["status"]["conditions"]
            if c["type"] == "Ready"
        ]
        return (
            images == [spec["pbx"]["image"]] * len(zones)
            and all(ready)
            and len(ready) == len(zones)
        )

    await wait_for(progress, timeout=90, what="every PBX on the new image")
    assert sorted(z for z, _ in seen) == sorted(zones)  # each restarted once
    assert seen[-1][0] == first_active  # the active last, after the switchover
    assert status()["activeZone"] != first_active
    assert all(zone != active for zone, active in seen), seen  # never the active PBX
