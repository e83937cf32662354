"""Dropped-call records made durable: the pure rules (key, idempotence by callId, cap, Event)
and the publisher against the emulated API server (marker, API failure kept and retried)."""

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from samu_operator import kube
from samu_operator.core import dropped
from samu_operator.core.labels import TENANT
from samu_operator.edge.files import EdgeFiles
from samu_operator.edge.publish import DroppedPublisher
from samu_operator.edge.rpc import RpcError
from samu_operator.edge.sync import EdgeSync
from samu_operator.kube import apply as kube_apply
from samu_operator.sim.kubelet import EmulatedCluster

CONFIGMAPS, EVENTS = "v1/configmaps", "v1/events"


def rec(call: str, at: float, tenant: str = "samu-30", caller: str = "0611223344") -> dict:
    return {"callId": call, "at": at, "tenant": tenant, "caller": caller, "method": "bye"}


def test_key_is_a_valid_configmap_key_sorted_by_time_and_hides_the_call_id():
    key = dropped.record_key(rec("a@b;c=d/é", 1795665662.3456))
    assert key.startswith("20261126T040102.345Z-") and len(key) == 21 + 16
    assert all(c.isalnum() or c in "-._" for c in key)
    later = dropped.record_key(rec("other", 1795665662.9))
    assert sorted([later, key]) == [key, later]


@pytest.mark.parametrize(
    ("record", "field"),
    [({"at": 1.0, "tenant": "samu-30"}, "callId"), ({"callId": "x", "tenant": "t"}, "'at'")],
)
def test_a_record_without_call_id_or_time_is_refused_naming_the_field(record, field):
    with pytest.raises(dropped.RecordError, match=field):
        dropped.record_key(record)
    with pytest.raises(dropped.RecordError, match="without tenant"):
        dropped.tenant_of({"callId": "x"})


def test_patch_adds_new_calls_once_by_call_id_whatever_their_time():
    first = dropped.data_patch(None, [rec("c1", 100.0), rec("c2", 101.0), rec("c1", 100.0)])
    assert len(first) == 2 and all(json.loads(v)["callId"] in {"c1", "c2"} for v in first.values())
    # the same call recorded again later (other way seen, sidecar restart): nothing to do
    assert dropped.data_patch(first, [rec("c1", 250.0), rec("c2", 101.0)]) == {}
    again = dropped.data_patch(first, [rec("c3", 102.0)])
    assert list(again) == [dropped.record_key(rec("c3", 102.0))]


def test_cap_keeps_the_newest_and_drops_the_oldest():
    existing = {
        k: v
        for k, v in dropped.data_patch(None, [rec(f"c{i}", 100.0 + i) for i in range(5)]).items()
        if v
    }
    patch = dropped.data_patch(existing, [rec("new", 200.0), rec("old", 1.0)], cap=5)
    oldest = dropped.record_key(rec("c0", 100.0))
    assert patch == {
        dropped.record_key(rec("new", 200.0)): json.dumps(rec("new", 200.0), sort_keys=True),
        oldest: None,
    }  # "old" is older than every kept record: never written


def test_configmap_is_not_the_operators_child_and_event_is_named_after_the_call():
    cm = dropped.configmap("samu-30", {"k": "v"})
    assert cm["metadata"]["namespace"] == "samu-30" and TENANT not in cm["metadata"]["labels"]
    ev = dropped.event("samu-30", rec("c1", 100.0), "uid-1", "2026-11-26T00:00:00Z")
    assert ev["type"] == "Warning" and ev["reason"] == "AnsweredCallDropped"
    assert ev["involvedObject"] == {
        "apiVersion": "samu-platform.io/v1alpha1",
        "kind": "SamuTenant",
        "name": "samu-30",
        "uid": "uid-1",
    }
    assert "0611223344" in ev["message"] and "get configmap dropped-calls" in ev["message"]
    other = dropped.event("samu-30", rec("c1", 999.0), None, "x")
    assert ev["metadata"]["name"] == other["metadata"]["name"]


def test_a_call_refused_everywhere_is_a_call_back_with_its_own_reason():
    record = {**rec("c9", 100.0), "reason": dropped.REFUSED, "status": 503}
    ev = dropped.event("samu-30", record, None, "2026-11-26T00:00:00Z")
    assert ev["reason"] == "CallRefused"
    assert "refused by every destination" in ev["message"] and "last answer 503" in ev["message"]
    assert dropped.data_patch({}, [record], cap=5)  # in the ledger like any dropped call


def test_journal_parse_skips_a_torn_line():
    lines = [json.dumps(rec("c1", 1.0)), "", '{"callId": "c2", "at']
    assert [r["callId"] for r in dropped.parse_journal(lines)] == ["c1"]


class Flaky(kube.Kube):
    """The API refusing the first ``fail`` writes (503), like an API server under a zone loss."""

    def __init__(self, api: Any, fail: int) -> None:
        super().__init__(api)
        self.fail = fail

    def _call(self, method: str, path: str, *args: Any, **kwargs: Any) -> dict:
        if method in {"POST", "PATCH"} and self.fail > 0:
            self.fail -= 1
            raise kube.KubeError(503, "etcd leader changed")
        return super()._call(method, path, *args, **kwargs)


def _journal(path: Path, *records: dict) -> None:
    with path.open("a") as f:
        f.writelines(json.dumps(r) + "\n" for r in records)


async def test_publisher_keeps_a_refused_record_and_publishes_it_later_once(tmp_path: Path):
    journal = tmp_path / "dropped-calls.jsonl"
    async with EmulatedCluster() as cluster:
        client = Flaky(kube.make_api_client(cluster.url), fail=1)
        publisher = DroppedPublisher(journal, client=lambda: client, uids={"samu-30": "u30"})
        _journal(journal, rec("c1", 100.0), rec("c2", 101.0, tenant="samu-13"))
        with pytest.raises(kube.KubeError):
            await _in_thread(publisher.publish)
        assert not publisher.marker.exists()  # nothing confirmed: both retried
        assert await _in_thread(publisher.publish) == 2
        _journal(journal, rec("c3", 102.0), rec("c1", 300.0))  # c1 again: no duplicate
        _journal(journal, {"callId": "c4", "at": 103.0})  # no tenant: kept in the journal only
        assert await _in_thread(publisher.publish) == 2
        assert await _in_thread(publisher.publish) == 0
        publisher.marker.unlink()  # a crash before the marker was written: all again
        assert await _in_thread(publisher.publish) == 4

        data = cluster.emulator.read(CONFIGMAPS, "samu-30", "dropped-calls")["data"]
        assert sorted(json.loads(v)["callId"] for v in data.values()) == ["c1", "c3"]
        assert [
            json.loads(v)["callId"]
            for v in cluster.emulator.read(CONFIGMAPS, "samu-13", "dropped-calls")["data"].values()
        ] == ["c2"]
        events = cluster.emulator.objects_of(EVENTS)
        assert sorted((e["metadata"]["namespace"], e["reason"]) for e in events) == [
            ("samu-13", "AnsweredCallDropped"),
            ("samu-30", "AnsweredCallDropped"),
            ("samu-30", "AnsweredCallDropped"),
        ]
    assert len(journal.read_text().splitlines()) == 5  # the journal itself is never trimmed


async def _in_thread(fn: Any) -> Any:
    return await asyncio.to_thread(fn)


class QueueRpc:
    """Kamailio's ``mqueue.fetch`` answers for the ``dropped`` queue, nothing else queued."""

    def __init__(self, *records: dict) -> None:
        self.queue = list(records)

    def call(self, method: str, *params: Any) -> Any:
        if method == "mqueue.fetch" and params == ("dropped",) and self.queue:
            record = self.queue.pop(0)
            return {"key": record["callId"], "val": json.dumps(record)}
        raise RpcError(f"{method}: 404 No messages")


def test_a_record_drained_from_kamailio_survives_a_failed_journal_write(tmp_path: Path):
    directory = tmp_path / "tables"
    directory.write_text("not a directory yet")  # the journal cannot be written
    sync = EdgeSync(EdgeFiles(directory), QueueRpc(rec("c1", 1.0)))  # type: ignore[arg-type]
    with pytest.raises(OSError):
        sync.collect_dropped()  # c1 has left Kamailio's queue: only the sidecar holds it
    directory.unlink()
    assert [r["callId"] for r in sync.collect_dropped()] == ["c1"]
    assert [json.loads(line)["callId"] for line in sync.files.dropped.read_text().splitlines()] == [
        "c1"
    ]
    assert sync.collect_dropped() == []


class EdgeRpc:
    """A Kamailio that saw ``down`` go silent, holds one answered call on each URI of
    ``calls``, and records the BYEs it is asked to send."""

    def __init__(self, down: str, calls: list[str]) -> None:
        self.down, self.calls, self.byes = [down], calls, []

    def call(self, method: str, *params: Any) -> Any:
        if method == "mqueue.fetch" and params == ("pbxdown",) and self.down:
            return {"key": self.down.pop(), "val": "1.0"}
        if method == "dispatcher.list":
            targets = [{"DEST": {"URI": uri, "FLAGS": "IP"}} for uri in self.calls]
            return {"RECORDS": [{"SET": {"ID": 1, "TARGETS": targets}}]}
        if method == "htable.dump":
            cells = [
                {
                    "type": "str",
                    "name": f"call-{i}",
                    "value": f"{uri}|1.0|tt|samu-30|"
                    "sip:+33611223344@carrier|ft|sip:+33466000015@edge|<null>|sip:c@carrier",
                }
                for i, uri in enumerate(self.calls)
            ]
            return [{"slot": cells}]
        if method == "tm.t_uac_start":
            self.byes.append(params)
            return None
        if method in ("dispatcher.reload", "htable.reload", "htable.delete"):
            return None
        raise RpcError(f"{method}: 404 No messages")


def test_calls_on_an_old_platform_trunk_are_never_ended_by_the_edge(tmp_path: Path):
    from tests.edge.conftest import tenant_doc

    doc = tenant_doc("30", numbers=["+33466000015"])
    doc["spec"]["routing"] = {
        "mode": "legacy",
        "legacy": {"trunks": ["sip:10.9.9.9:5061;transport=tls"]},
    }
    trunk, pbx = "sip:10.9.9.9:5061;transport=tls", "sip:pbx-a.samu-30.svc.cluster.local:5060"
    for down, ended in ((trunk, 0), (pbx, 1)):
        rpc = EdgeRpc(down, [trunk, pbx])
        sync = EdgeSync(EdgeFiles(tmp_path / down[-4:]), rpc, confirm_seconds=0)  # type: ignore[arg-type]
        sync.apply([doc])
        records = sync.collect_dropped()
        assert len(records) == len(rpc.byes) == ended, (down, records)


class Refusing(kube.Kube):
    """The API answering ``status`` to every write into one Namespace."""

    def __init__(self, api: Any, namespace: str, status: int) -> None:
        super().__init__(api)
        self.namespace, self.status = namespace, status

    def _call(self, method: str, path: str, *args: Any, **kwargs: Any) -> dict:
        if method in {"POST", "PATCH"} and f"/namespaces/{self.namespace}/" in path:
            raise kube.KubeError(self.status, "refused")
        return super()._call(method, path, *args, **kwargs)


@pytest.mark.parametrize("status", [404, 503])
async def test_one_tenant_refused_never_blocks_the_others(tmp_path: Path, status: int):
    journal = tmp_path / "dropped-calls.jsonl"
    _journal(journal, rec("c1", 100.0, tenant="samu-99"), rec("c2", 101.0))
    async with EmulatedCluster() as cluster:
        client = Refusing(kube.make_api_client(cluster.url), "samu-99", status)
        publisher = DroppedPublisher(journal, client=lambda: client)
        if status == 404:  # Namespace gone: kept in the journal only, the marker moves on
            assert await _in_thread(publisher.publish) == 1
            assert publisher.marker.exists()
        else:  # transient: samu-30 published, samu-99 retried (marker unmoved)
            with pytest.raises(kube.KubeError):
                await _in_thread(publisher.publish)
            assert not publisher.marker.exists()
        data = cluster.emulator.read(CONFIGMAPS, "samu-30", "dropped-calls")["data"]
        assert [json.loads(v)["callId"] for v in data.values()] == ["c2"]


async def test_the_operators_prune_never_deletes_the_dropped_calls_configmap(tmp_path: Path):
    async with EmulatedCluster() as cluster:
        child = dropped.configmap("samu-30", {"k": "v"})
        child["metadata"] = {"name": "asterisk", "namespace": "samu-30", "labels": {TENANT: "samu-30"}}  # fmt: skip
        await cluster.emulator.put(CONFIGMAPS, child)
        await cluster.emulator.put(CONFIGMAPS, dropped.configmap("samu-30", {"k": "v"}))
        client = kube.Kube(kube.make_api_client(cluster.url))
        pruned = await _in_thread(lambda: kube_apply.prune(client, "samu-30", []))
        assert pruned and cluster.emulator.read(CONFIGMAPS, "samu-30", "asterisk") is None
        assert cluster.emulator.read(CONFIGMAPS, "samu-30", "dropped-calls") is not None
