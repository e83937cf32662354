"""A small client of rtpengine's ng control protocol (bencoded dictionaries over UDP).

Each request is ``<cookie> <bencoded dict>`` and each reply ``<cookie> <bencoded dict>``; a
reply whose ``result`` is not ``ok`` raises. Used by the tests to drive a real rtpengine
(offer, answer, delete, query) and meant for the call keeper too.
"""

from __future__ import annotations

import os
import socket
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
                reply = bencode.decode(body)
                if reply.get("result") not in ("ok", "pong"):
                    raise NgError(
                        f"rtpengine {command}: {reply.get('result')}: {reply.get('error-reason', '')}"
                    )
                return reply
        raise NgError(f"rtpengine {command}: no answer from {self.address[0]}:{self.address[1]}")
