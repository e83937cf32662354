"""The transport and probe signals: an OPTIONS to each PBX holding kept calls, from a
connected UDP socket per PBX, so that the kernel reports an ICMP port-unreachable (a killed
PBX process, its host still up) as ECONNREFUSED on that socket: the ``transport`` verdict,
within one probe period. An OPTIONS left unanswered counts as a failed probe (``probe``: a
confirmation after several in a row, never the first signal: a busy PBX answers late).

Non-blocking: each round reads what the last round's OPTIONS got, then sends the next.
"""

import contextlib
import errno
import socket
from dataclasses import dataclass, field

from sippy.SipCallId import SipCallId
from sippy.SipContact import SipContact
from sippy.SipFrom import SipFrom
from sippy.SipRequest import SipRequest
from sippy.SipResponse import SipResponse
from sippy.SipURL import SipURL

_REFUSED = (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH)


@dataclass
class _Target:
    sock: socket.socket
    waiting: bool = False  # an OPTIONS went out and got no answer yet
    failures: int = 0
    error: str = ""
    cseq: int = field(default=1)


class Prober:
    def __init__(self) -> None:
        self.targets: dict[tuple[str, int], _Target] = {}

    def _options(self, host: str, port: int, target: _Target) -> bytes:
        target.cseq += 1
        local_host, local_port = target.sock.getsockname()[:2]
        request = SipRequest(
            method="OPTIONS",
            ruri=SipURL(host=host, port=port),
            fr0m=SipFrom(),
            callid=SipCallId(),
            cseq=target.cseq,
            contact=SipContact(),
            target=(host, port),
        )
        request.getHFBody("from").genTag()
        text = request.localStr(((local_host, local_port), "udp"))
        return text.encode()

    def round(
        self, addresses: set[tuple[str, int]], send: bool = True
    ) -> dict[tuple[str, int], tuple[str, int]]:
        """Reads what the PBXs at ``addresses`` answered (or the kernel said) since the last
        round and, if ``send``, probes them again: (transport error or "", failed probes in a
        row) per address. An OPTIONS still unanswered when the next is sent is a failure."""
        for gone in set(self.targets) - addresses:
            self.targets.pop(gone).sock.close()
        out = {}
        for address in addresses:
            target = self.targets.get(address)
            if target is None:
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                sock.setblocking(False)
                sock.connect(address)
                target = self.targets[address] = _Target(sock)
            self._read(target)
            if not send:
                out[address] = (target.error, target.failures)
                continue
            if target.waiting and not target.error:
                target.failures += 1
            with contextlib.suppress(BlockingIOError):
                try:
                    target.sock.send(self._options(*address, target))
                    target.waiting = True
                except OSError as exc:
                    if exc.errno in _REFUSED:
                        target.error = f"{address[0]}:{address[1]}: {exc.strerror}"
            out[address] = (target.error, target.failures)
        return out

    def _read(self, target: _Target) -> None:
        while True:
            try:
                data = target.sock.recv(65535)
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno in _REFUSED:
                    target.error = exc.strerror or "connection refused"
                    continue
                return
            try:
                code = SipResponse(data.decode(errors="replace")).getSCode()[0]
            except Exception:
                continue
            if code >= 200:
                target.waiting, target.failures, target.error = False, 0, ""

    def close(self) -> None:
        for target in self.targets.values():
            target.sock.close()
        self.targets.clear()
