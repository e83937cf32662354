"""The keeper's sippy user agents."""

from typing import Any

from sippy.UA import UA

from samu_keeper.core import rescue


class KeeperUA(UA):
    """sippy's UA, taking a peer's ``transport=UDP`` (upper case, as SIPp and some carriers
    write it: RFC 3261 makes it case-insensitive) as sippy's ``udp``."""

    def newTransaction(self, req: Any, req_extra_headers: Any = None, **kwa: Any) -> Any:
        address, transport = req.getTarget()
        if transport is not None:
            req.setTarget((address, str(transport).lower()))
        return super().newTransaction(req, req_extra_headers, **kwa)


class PbxUA(KeeperUA):
    """The PBX-side user agent; it also keeps what the PBX says of the call in its messages
    (``X-Samu-Queue``, ``X-Samu-Position``: which queue and which ARM have it), which sippy's
    events do not carry."""

    said: dict[str, str]

    def _hear(self, msg: Any) -> None:
        if not hasattr(self, "said"):
            self.said = {}
        for name in (rescue.QUEUE, rescue.POSITION):
            if msg.countHFs(name.lower()):
                self.said[name] = str(msg.getHFBody(name.lower())).strip()

    def recvResponse(self, resp: Any, tr: Any) -> Any:
        self._hear(resp)
        return super().recvResponse(resp, tr)

    def recvRequest(self, req: Any, sip_t: Any) -> Any:
        self._hear(req)
        return super().recvRequest(req, sip_t)
