"""Sidecar of a PBX pod: abandoned calls from Asterisk's queue_log to the call-back list.

Every SAMU_ABANDONED_SECONDS: reads the complete lines queue_log gained (from the start
after a restart), folds them into abandoned-call records (``core.abandoned``), appends the
new ones to a journal (fsynced, in the pod's log volume) and publishes the journal with the
edge's publisher (``edge.publish.DroppedPublisher``: the tenant's ``dropped-calls`` ConfigMap
and an Event, retried until the API confirms, once per call).

Environment: SAMU_QUEUE_LOG (Asterisk's queue_log), SAMU_ABANDONED_JOURNAL, SAMU_TENANT,
SAMU_ZONE, SAMU_ABANDONED_SECONDS (default 2). The API is reached with the pod's own
ServiceAccount token (a Role lets it write that ConfigMap and Events, in its Namespace only).
"""

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from samu_operator.core import abandoned, dropped
from samu_operator.edge.publish import DroppedPublisher

log = logging.getLogger(__name__)


@dataclass
class AbandonedCalls:
    queue_log: Path
    journal: Path
    tenant: str
    zone: str
    offset: int = 0
    reader: abandoned.QueueLogReader = field(init=False)
    journaled: set[str] = field(init=False)

    def __post_init__(self) -> None:
        self.reader = abandoned.QueueLogReader(self.tenant, self.zone)
        try:
            lines = self.journal.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            lines = []
        self.journaled = {str(r.get("callId")) for r in dropped.parse_journal(lines)}

    def collect(self) -> int:
        """Journal the abandoned calls queue_log gained; how many were new."""
        try:
            with self.queue_log.open("rb") as f:
                if f.seek(0, os.SEEK_END) < self.offset:  # rotated or replaced: read it all
                    self.offset = 0
                    self.reader = abandoned.QueueLogReader(self.tenant, self.zone)
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
            return 0
        end = chunk.rfind(b"\n") + 1
        self.offset += end
        lines = chunk[:end].decode("utf-8", errors="replace").splitlines()
        new = [r for r in self.reader.feed(lines) if r["callId"] not in self.journaled]
        if new:
            self.journal.parent.mkdir(parents=True, exist_ok=True)
            with self.journal.open("a", encoding="utf-8") as out:
                for record in new:
                    out.write(json.dumps(record, sort_keys=True) + "\n")
                out.flush()
                os.fsync(out.fileno())
            self.journaled.update(r["callId"] for r in new)
        return len(new)


def run_once(calls: AbandonedCalls, publisher: DroppedPublisher) -> int:
    """One pass: collect, then publish (an API error leaves the journal to the next pass)."""
    calls.collect()
    return publisher.publish()


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    calls = AbandonedCalls(
        queue_log=Path(os.environ["SAMU_QUEUE_LOG"]),
        journal=Path(os.environ["SAMU_ABANDONED_JOURNAL"]),
        tenant=os.environ["SAMU_TENANT"],
        zone=os.environ["SAMU_ZONE"],
    )
    publisher = DroppedPublisher(calls.journal)
    period = float(os.environ.get("SAMU_ABANDONED_SECONDS", "2"))
    while True:
        try:
            published = run_once(calls, publisher)
            if published:
                log.info(f"abandoned calls published for call-back: {published}")
        except Exception as exc:  # the API unreachable: the journal keeps them, retried
            log.warning(f"abandoned calls not published yet, retried: {exc}")
        time.sleep(period)


if __name__ == "__main__":
    main()
