"""The routing sidecar as the chart runs it (own `kopf run` process, kubeconfig login) moves a
dropped-call record from Kamailio's queue to the tenant's ConfigMap and an Event, exactly once
across a restart. Kamailio is replaced by a stand-in JSON-RPC server that hands out the
records (the same `mqueue.fetch` answers Kamailio gives), so this runs without it."""

import asyncio
import json
import os
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from samu_operator.edge.files import DROPPED_FILE
from samu_operator.sim.kubelet import EmulatedCluster
from tests.edge.conftest import tenant_doc
from tests.operator.harness import TENANTS, wait_for

pytestmark = [pytest.mark.e2e]


class FakeKamailio(ThreadingHTTPServer):
    """``mqueue.fetch dropped`` returns the queued records one by one, then "No messages";
    the reloads succeed."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.queue: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/RPC"


class _Handler(BaseHTTPRequestHandler):
    server: FakeKamailio

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": body["id"], "result": None}
        if body["method"] == "mqueue.fetch":
            with self.server.lock:
                queue = self.server.queue if body["params"] == ["dropped"] else []
                item = queue.pop(0) if queue else None
            if item is None:
                reply = {"jsonrpc": "2.0", "id": body["id"], "error": {"code": 404, "message": "No messages"}}  # fmt: skip
            else:
                reply["result"] = {"key": item["callId"], "val": json.dumps(item)}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: Any) -> None:
        pass


def _record(call: str, at: float) -> dict[str, Any]:
    return {"callId": call, "at": at, "tenant": "samu-30", "caller": "0466000001", "method": "bye"}


async def _run_sidecar(tmp_path: Path, env: dict[str, str], name: str) -> Any:
    log = (tmp_path / f"{name}.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "kopf", "run", "--standalone", "--all-namespaces"),
        *("-m", "samu_operator.edge.sidecar"),
        env=env,
        stdout=log,
        stderr=log,
    )
    log.close()
    return proc


async def test_a_collected_record_reaches_the_tenants_configmap_and_events_once(tmp_path):
    rpc = FakeKamailio()
    threading.Thread(target=rpc.serve_forever, daemon=True).start()
    tables = tmp_path / "tables"
    try:
        async with EmulatedCluster() as cluster:
            await cluster.emulator.put(TENANTS, tenant_doc("30"))
            kubeconfig = tmp_path / "kubeconfig"
            kubeconfig.write_text(
                yaml.safe_dump(
                    {
                        "apiVersion": "v1",
                        "kind": "Config",
                        "clusters": [{"name": "e", "cluster": {"server": cluster.url}}],
                        "users": [{"name": "u", "user": {"token": "t"}}],
                        "contexts": [{"name": "c", "context": {"cluster": "e", "user": "u"}}],
                        "current-context": "c",
                    }
                )
            )
            env = {
                **os.environ,
                "KUBECONFIG": str(kubeconfig),
                "SAMU_EDGE_DIR": str(tables),
                "SAMU_EDGE_RPC_URL": rpc.url,
                "SAMU_EDGE_PERIOD_SECONDS": "0.3",
            }
            env.pop("SAMU_OPERATOR_KUBE_URL", None)

            def calls() -> list[str]:
                cm = cluster.emulator.read("v1/configmaps", "samu-30", "dropped-calls")
                return sorted(json.loads(v)["callId"] for v in ((cm or {}).get("data") or {}).values())  # fmt: skip

            def events() -> list[dict[str, Any]]:
                return [
                    e
                    for e in cluster.emulator.objects_of("v1/events", "samu-30")
                    if e.get("reason") == "AnsweredCallDropped"
                ]

            rpc.queue.append(_record("call-1@edge", 1795665662.5))
            first = await _run_sidecar(tmp_path, env, "sidecar-1")
            try:
                await wait_for(lambda: calls() == ["call-1@edge"], 30, "call-1 in the ConfigMap")
                await wait_for(lambda: len(events()) == 1, 10, "one Event for call-1")
            finally:
                first.terminate()
                await first.wait()
            event = events()[0]
            assert event["type"] == "Warning"
            assert event["involvedObject"]["name"] == "samu-30"
            assert event["involvedObject"]["uid"]  # kubectl describe samu samu-30 finds it
            assert "0466000001" in event["message"]
            journal = tables / DROPPED_FILE
            assert [json.loads(line)["callId"] for line in journal.read_text().splitlines()] == [
                "call-1@edge"
            ]

            # a crash before the marker was written + Kamailio handing call-1 out again
            (tables / "dropped-calls.published").unlink()
            rpc.queue += [
                _record("call-1@edge", 1795665670.0),
                _record("call-2@edge", 1795665671.0),
            ]
            second = await _run_sidecar(tmp_path, env, "sidecar-2")
            try:
                await wait_for(
                    lambda: calls() == ["call-1@edge", "call-2@edge"], 30, "call-2 published"
                )
                await wait_for(lambda: len(events()) == 2, 10, "an Event for call-2")
                # the test removed the marker above: the sidecar writes it again after the
                # Events (poll until it exists, do not read a file not yet there)
                marker = tables / "dropped-calls.published"
                await wait_for(
                    lambda: (
                        marker.exists()
                        and marker.read_text().strip() == str(journal.stat().st_size)
                    ),
                    10,
                    "the marker at the journal's end",
                )
            finally:
                second.terminate()
                await second.wait()
            assert calls() == ["call-1@edge", "call-2@edge"]  # exactly once each
            assert len(events()) == 2
    finally:
        rpc.shutdown()
        rpc.server_close()
