"""Publish the dropped-call journal to the Kubernetes API, never losing a record.

The journal (``dropped-calls.jsonl``, fsynced by ``EdgeSync.collect_dropped``) is the source
of truth in the pod; a marker file next to it (``dropped-calls.published``) holds the byte
offset of the journal published so far. Each pass reads the complete lines past the marker,
writes them to each tenant's ``dropped-calls`` ConfigMap and posts one Event per call, and
only then moves the marker. An API error leaves the marker where it was: the same lines are
published again on the next pass, which the writes make harmless (keys by callId, Events
named after the call). A restarted sidecar resumes from the marker. One tenant's failure
never blocks the others' records; a tenant whose Namespace is gone (404) keeps its records in
the journal and the logs only, and the marker moves past them.

Several edge replicas may write one tenant's ConfigMap: merge patches only add or remove
their own keys; two creates at once end in one 409, retried as a patch.
"""

import datetime
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from samu_operator import kube
from samu_operator.core import dropped
from samu_operator.core.meta import namespace_of
from samu_operator.edge.files import write_atomic

MARKER_FILE = "dropped-calls.published"

log = logging.getLogger(__name__)


@dataclass
class DroppedPublisher:
    journal: Path
    client: Callable[[], kube.Kube] = kube.shared
    #: tenant name -> uid (for the Event's involvedObject), when known
    uids: Mapping[str, str] = field(default_factory=dict)
    cap: int = dropped.CAP

    @property
    def marker(self) -> Path:
        return self.journal.with_name(MARKER_FILE)

    def _offset(self) -> int:
        try:
            return int(self.marker.read_text(encoding="utf-8").strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def pending(self) -> tuple[list[dict[str, Any]], int]:
        """The records past the marker (complete lines only) and the offset after them."""
        start = self._offset()
        try:
            with self.journal.open("rb") as f:
                size = f.seek(0, os.SEEK_END)
                if start > size:  # journal replaced (new emptyDir): publish it all again
                    start = 0
                f.seek(start)
                chunk = f.read()
        except FileNotFoundError:
            return [], 0
        end = chunk.rfind(b"\n") + 1
        lines = chunk[:end].decode("utf-8", errors="replace").splitlines()
        return dropped.parse_journal(lines), start + end

    def publish(self) -> int:
        """One pass; the number of records published. Raises on an API error (the marker
        stays, the records are retried on the next pass)."""
        records, end = self.pending()
        if end == self._offset():
            return 0
        grouped: dict[str, list[Mapping[str, Any]]] = {}
        for record in records:
            try:
                dropped.record_key(record)
                tenant = dropped.tenant_of(record)
            except dropped.RecordError as exc:  # stays in the journal and the logs
                log.error(f"edge: dropped-call record not published ({exc}): {record}")
                continue
            grouped.setdefault(tenant, []).append(record)
        client = self.client()
        failed: Exception | None = None
        published = 0
        for tenant, items in grouped.items():  # one tenant's failure never blocks the others
            try:
                self._write_configmap(client, tenant, items)
                for record in items:
                    self._post_event(client, tenant, record)
            except kube.KubeError as exc:
                if exc.status != 404:
                    failed = exc
                    continue
                # no such Namespace (tenant deleted): nowhere to call back from; the records
                # stay in the journal and the logs, and must not block the other tenants
                log.error(
                    f"edge: {len(items)} dropped calls of {tenant} kept only in the "
                    f"journal, its Namespace is gone: {exc}"
                )
                continue
            published += len(items)
        if failed is not None:
            raise failed  # marker unmoved: all retried, the published ones are no-ops
        write_atomic(self.marker, f"{end}\n")
        return published

    def _write_configmap(
        self, client: kube.Kube, tenant: str, records: list[Mapping[str, Any]]
    ) -> None:
        ref = kube.Ref("v1", "ConfigMap", namespace_of(tenant), dropped.CONFIGMAP_NAME)
        for _ in range(3):
            live = client.get(ref)
            patch = dropped.data_patch((live or {}).get("data"), records, self.cap)
            if not patch:
                return
            if live is not None:
                client.merge(ref, {"data": patch})
                return
            data = {k: v for k, v in patch.items() if v is not None}
            try:
                client.create(dropped.configmap(tenant, data))
                return
            except kube.KubeError as exc:
                if exc.status != 409:  # another edge replica created it: patch it
                    raise
        raise kube.KubeError(409, f"{ref.path()}: create and patch kept conflicting")

    def _post_event(self, client: kube.Kube, tenant: str, record: Mapping[str, Any]) -> None:
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        try:
            client.create(dropped.event(tenant, record, self.uids.get(tenant), now))
        except kube.KubeError as exc:
            if exc.status != 409:  # 409: already posted by an earlier pass
                raise
