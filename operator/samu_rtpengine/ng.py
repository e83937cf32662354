"""A small client of rtpengine's ng control protocol (bencoded dictionaries over UDP).

Each request is ``<cookie> <bencoded dict>`` and each reply ``<cookie> <bencoded dict>``; a
reply whose ``result`` is not ``ok`` raises. Used by the tests to drive a real rtpengine
(offer, answer, delete, query) and meant for the call keeper too.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping, Sequence
from typing import Any

from samu_rtpengine import bencode


class NgError(RuntimeError):
    """rtpengine answered with an error, or did not answer."""


class NgClient:
    """One UDP socket to one rtpengine ng listener."""

    def __init__(self, host: str, port: int, timeout: float = 2.0, retries: int = 2) -> None:
        self.address = (host, port)
        self.timeout = timeout
        self.retries = retries

    def command(self, command: str, **params: Any) -> dict[str, Any]:
        """Sends one command (``offer``, ``answer``, ``delete``, ``query``, ``ping``...)."""
        cookie = os.urandom(6).hex().encode()
        payload = cookie + b" " + bencode.encode({"command": command, **params})
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.settimeout(self.timeout)
            for _ in range(self.retries + 1):
                sock.sendto(payload, self.address)
                try:
                    while True:
                        data, _addr = sock.recvfrom(65535)
                        got_cookie, _, body = data.partition(b" ")
                        if got_cookie == cookie:
                            break
                except TimeoutError:
                    continue
                return _checked(command, bencode.decode(body))
        raise NgError(f"rtpengine {command}: no answer from {self.address[0]}:{self.address[1]}")

    def many(
        self,
        command: str,
        params: Sequence[Mapping[str, Any]],
        timeout: float | None = None,
        retries: int | None = None,
    ) -> list[dict[str, Any] | NgError]:
        """Sends ``command`` once per parameter set, all at once on one socket, and gathers
        the replies (an ``NgError`` in place of each that failed or never came within
        ``timeout``): one round trip for many calls instead of one each (the keeper's
        per-call counter reads, which give up on a late reply rather than wait for it)."""
        timeout = self.timeout if timeout is None else timeout
        retries = self.retries if retries is None else retries
        pending: dict[bytes, tuple[int, bytes]] = {}
        for index, one in enumerate(params):
            cookie = b"%s%d" % (os.urandom(4).hex().encode(), index)
            pending[cookie] = (index, cookie + b" " + bencode.encode({"command": command, **one}))
        out: list[dict[str, Any] | NgError] = [
            NgError(f"rtpengine {command}: no answer from {self.address[0]}:{self.address[1]}")
        ] * len(params)
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            # room for every reply at once (a few KB each), or the kernel drops the late ones
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            for _ in range(retries + 1):
                if not pending:
                    break
                for _index, payload in pending.values():
                    sock.sendto(payload, self.address)
                deadline = time.monotonic() + timeout
                while pending and (left := deadline - time.monotonic()) > 0:
                    sock.settimeout(left)
                    try:
                        data, _addr = sock.recvfrom(65535)
                    except TimeoutError:
                        break
                    cookie, _, body = data.partition(b" ")
                    found = pending.pop(cookie, None)
                    if found is None:
                        continue  # a late reply to a resent command
                    try:
                        out[found[0]] = _checked(command, bencode.decode(body))
                    except (NgError, ValueError) as exc:
                        out[found[0]] = NgError(str(exc))
        return out


def _checked(command: str, reply: dict[str, Any]) -> dict[str, Any]:
    if reply.get("result") not in ("ok", "pong"):
        raise NgError(
            f"rtpengine {command}: {reply.get('result')}: {reply.get('error-reason', '')}"
        )
    return reply
