"""samuctl tenant status against the emulator with the real operator: a tenant through
onboarding, a zone failover and dropped calls, read the way a user reads a cluster."""

import asyncio
import json
import threading
import time

import pytest
import yaml

from samu_operator import kube
from samu_operator.edge.publish import DroppedPublisher
from samuctl.commands import tenant_status
from samuctl.main import main
from tests.operator.harness import apply, tenant, tenant_doc, wait_for

pytestmark = pytest.mark.e2e


async def _status(capsys, url: str, *extra: str) -> tuple[int, str, str]:
    """samuctl tenant status in a thread (the test loop serves the emulator meanwhile)."""
    code = await asyncio.to_thread(main, ["tenant", "status", "--server", url, *extra])
    out, err = capsys.readouterr()
    return code, out, err


def _journal_call(journal, call_id: str) -> None:
    record = {"tenant": "samu-30", "callId": call_id, "at": time.time(), "caller": "+33466112233"}
    with journal.open("a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")


async def test_status_through_onboarding_failover_and_dropped_calls(
    cluster, operator, capsys, tmp_path
):
    code, out, _ = await _status(capsys, cluster.url)
    assert code == 0 and "no SamuTenant yet" in out

    await apply(cluster, tenant_doc("30"))

    def elected_and_ready() -> bool:
        # The election's writes land one by one (epoch, then the pods' role labels, which
        # the status then reports): wait for the last of them.
        st = tenant(cluster, "samu-30").get("status") or {}
        roles = {p.get("zone"): p.get("role") for p in st.get("pbx") or []}
        return st.get("phase") == "Ready" and roles.get(st.get("activeZone")) == "active"

    await wait_for(elected_and_ready, 60, "samu-30 Ready with its active PBX")
    code, out, _ = await _status(capsys, cluster.url, "samu-30", "-o", "json")
    assert code == 0
    [row] = json.loads(out)
    assert row["name"] == "samu-30" and row["phase"] == "Ready"
    assert row["active_zone"] == "a" and row["epoch"] >= 1
    assert row["standbys"] == 2 and sorted(row["standby_zones"]) == ["b", "c"]
    assert row["last_failover"] is None and row["call_backs"] == 0
    # Nobody reports these yet: shown as unknown, never invented.
    assert row["positions"] is None and row["recording_backlog"] is None
    epoch = row["epoch"]

    await cluster.kubelet.fail_zone("a")
    await wait_for(
        lambda: (tenant(cluster, "samu-30").get("status") or {}).get("lastFailover"),
        60,
        "a failover of samu-30",
    )
    await wait_for(
        lambda: (
            len(
                [
                    p
                    for p in tenant(cluster, "samu-30")["status"].get("pbx", [])
                    if p.get("role") == "standby" and p.get("ready")
                ]
            )
            == 1
        ),
        60,
        "one standby left",
    )
    code, out, _ = await _status(capsys, cluster.url)
    assert code == 0
    header, line = out.splitlines()
    for column in ("NAME", "PHASE", "ACTIVE", "EPOCH", "LAST FAILOVER", "STANDBYS", "POSITIONS"):
        assert column in header
    assert "CALL-BACKS" in header and "REC BACKLOG" in header
    assert line.startswith("samu-30 ")
    assert "a->b" in line and " ago (" in line
    assert "1 (c)" in line and "n/a" in line
    body = tenant(cluster, "samu-30")["status"]
    assert body["epoch"] > epoch and body["activeZone"] == "b"

    # Two answered calls dropped with the dead PBX, published as the edge's sidecar does.
    journal = tmp_path / "dropped-calls.jsonl"
    _journal_call(journal, "call-1@carrier")
    _journal_call(journal, "call-2@carrier")
    client = kube.Kube(kube.make_api_client(cluster.url))
    publisher = DroppedPublisher(journal, client=lambda: client)
    await asyncio.to_thread(publisher.publish)
    code, out, _ = await _status(capsys, cluster.url, "samu-30", "-o", "json")
    assert json.loads(out)[0]["call_backs"] == 2

    # --watch shows the table again when something changes (here a third dropped call).
    first_read = threading.Event()
    tables: list[list] = []

    def fetch() -> list:
        rows = tenant_status.read_rows(client, "samu-30")
        first_read.set()
        return rows

    watcher = asyncio.create_task(
        asyncio.to_thread(tenant_status.watch, fetch, tables.append, [], 0.1, 3)
    )
    await wait_for(first_read.is_set, 30, "the watch's first read")
    _journal_call(journal, "call-3@carrier")
    await asyncio.to_thread(publisher.publish)
    await asyncio.wait_for(watcher, 60)
    assert [rows[0].call_backs for rows in tables] == [2, 3]

    code, _, err = await _status(capsys, cluster.url, "samu-99")
    assert code == 1 and "samu-99: no such SamuTenant" in err


async def test_status_through_a_kubeconfig(cluster, operator, capsys, tmp_path):
    # The way a user reaches a real cluster: a kubeconfig file and a context, read by the
    # official Kubernetes client (here pointing at the emulator).
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "lab", "cluster": {"server": cluster.url}}],
                "users": [{"name": "oncall", "user": {"token": "not-checked-by-the-emulator"}}],
                "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "oncall"}}],
                "current-context": "lab",
            }
        )
    )
    await apply(cluster, tenant_doc("34"))
    await wait_for(
        lambda: (tenant(cluster, "samu-34").get("status") or {}).get("activeZone"),
        60,
        "samu-34 has an active PBX",
    )
    args = ["tenant", "status", "--kubeconfig", str(kubeconfig), "--context", "lab", "-o", "json"]
    code = await asyncio.to_thread(main, args)
    out, err = capsys.readouterr()
    assert code == 0, err
    assert [row["name"] for row in json.loads(out)] == ["samu-34"]

    missing = ["tenant", "status", "--kubeconfig", str(kubeconfig), "--context", "nope"]
    assert await asyncio.to_thread(main, missing) == 2
    assert "no usable kubeconfig" in capsys.readouterr().err
