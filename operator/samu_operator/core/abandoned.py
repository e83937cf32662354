"""Abandoned calls, read from Asterisk's queue_log, for the call-back list.

A caller who hangs up before an ARM answers (in the IVR, in a queue, or while a débordement
rings) is called back like a caller whose answered call was dropped: same ledger
(``core.dropped``: the tenant's ``dropped-calls`` ConfigMap and an Event), one record per
call whatever is read twice.

queue_log's documented line: ``epoch|uniqueid|queuename|agent|event|data1|data2|...``.
Events used here:

- ``ENTERQUEUE`` (``url|callerid|position``): the call entered a queue; the dialplan writes
  one for the IVR (queue ``ivr``) at the answer, with the SIP Call-ID as the url;
- ``ABANDON`` (``position|origposition|waittime``): the caller hung up unanswered; app_queue
  writes it for a queue, the dialplan's hang-up handler for the IVR and a débordement;
- ``CONNECT``: an ARM answered (a later ABANDON of the same call would be a bug: ignored).

``EXITWITHTIMEOUT`` is not an abandonment here: this dialplan sends such a caller to the
débordement or back to the queue, never hangs up; the wait counts from the call's first line.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from samu_operator.core.dropped import ABANDONED

REASON = ABANDONED
SOURCE = "pbx-queue-log"
#: The prefix the operator gives app_queue queue names (``asterisk.queue_id``).
QUEUE_PREFIX = "q-"


@dataclass
class _Call:
    first_at: float
    call_id: str = ""
    caller: str = ""
    queue: str = ""
    connected: bool = False


@dataclass
class QueueLogReader:
    """Folds queue_log lines, in order, into abandoned-call records (one per call).

    Stateful across reads (a call's ENTERQUEUE and ABANDON may come in different reads);
    fed again from the start after a restart, it yields the same records, which the ledger
    then ignores (keys by callId).
    """

    tenant: str
    zone: str
    calls: dict[str, _Call] = field(default_factory=dict)

    def feed(self, lines: Iterable[str]) -> list[dict[str, Any]]:
        records = []
        for line in lines:
            record = self._line(line.rstrip("\n"))
            if record is not None:
                records.append(record)
        return records

    def _line(self, line: str) -> dict[str, Any] | None:
        parts = line.split("|")
        if len(parts) < 5:
            return None  # a torn or foreign line: never fatal
        epoch, uniqueid, queue, _agent, event, *data = parts
        try:
            at = float(epoch)
        except ValueError:
            return None
        if not uniqueid or uniqueid == "NONE":
            return None  # queue-wide lines (QUEUESTART, CONFIGRELOAD...)
        call = self.calls.setdefault(uniqueid, _Call(first_at=at))
        if event == "ENTERQUEUE":
            url, callerid = [*data, "", ""][:2]
            call.call_id = call.call_id or url
            call.caller = call.caller or callerid
            call.queue = queue
        elif event == "CONNECT":
            call.connected = True
        elif event == "ABANDON":
            del self.calls[uniqueid]
            if call.connected:
                return None
            return self._record(uniqueid, queue or call.queue, call, at)
        elif event in ("COMPLETECALLER", "COMPLETEAGENT"):
            self.calls.pop(uniqueid, None)
        return None

    def _record(self, uniqueid: str, queue: str, call: _Call, at: float) -> dict[str, Any]:
        return {
            # The SIP Call-ID when the dialplan logged it, else the zone's own unique id
            # (uniqueids repeat across the tenant's PBX, which share one systemname).
            "callId": call.call_id or f"{self.tenant}/{self.zone}/{uniqueid}",
            "tenant": self.tenant,
            "zone": self.zone,
            "at": at,
            "caller": call.caller,
            "queue": queue.removeprefix(QUEUE_PREFIX),
            "waitSeconds": round(at - call.first_at, 3),
            "reason": REASON,
            "source": SOURCE,
            "uniqueid": uniqueid,
        }
