"""A PBX stand-in that records its copy as the PBX does: ``python -m samu_lab.pbx``.

Asterisk cannot run here. This process answers the edge's OPTIONS probes and each INVITE at
once (200 OK with PCMU SDP on a media port of its own per call, the Record-Route set copied,
``X-Pbx: <name>``; retransmitted until the ACK), sends every RTP packet it gets back to its
sender (as SIPp's ``-rtp_echo``: the caller hears the centre through the edge), and records
what it hears from the answer, as MixMonitor without ``b`` does: ``<Call-ID-safe>.wav`` in the
recordings directory, a 44-byte header whose sizes stay 0 while the call lasts, 8 kHz 16-bit
mono samples appended as packets come, the sizes written at the BYE. SIGKILLed, it leaves the
file as a dead Asterisk would: sizes 0, the audio up to the kill.

Hand-written on purpose: SIPp answers calls but records nothing, and a SIP library (sippy)
would be a dependency for the five requests a stand-in needs (OPTIONS, INVITE, ACK, BYE,
CANCEL) over UDP on 127.0.0.1. One thread, one ``selectors`` loop over every socket.
"""

from __future__ import annotations

import argparse
import os
import re
import selectors
import signal
import socket
import struct
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from samu_lab.procs import free_port, kill_process, stop_process
from samu_recordings.core.g711 import ULAW
from samu_recordings.core.naming import safe_call_id

#: One 16-bit little-endian sample per mu-law byte (G.711 table of samu_recordings).
_LINEAR = [struct.pack("<h", v) for v in ULAW]
RETRANSMIT_S = 0.5  # RFC 3261 T1: the 200 OK again until the ACK comes
GIVE_UP_S = 32.0  # 64 x T1
_COMPACT = {
    "v": "via",
    "f": "from",
    "t": "to",
    "i": "call-id",
    "m": "contact",
    "l": "content-length",
}


def wav_header(data_size: int) -> bytes:
    """MixMonitor's WAV header: sizes 0 while the call lasts, written at its end."""
    riff = 36 + data_size if data_size else 0
    return (
        b"RIFF" + struct.pack("<I", riff) + b"WAVE"
        + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
        + b"data" + struct.pack("<I", data_size)
    )  # fmt: skip


@dataclass
class Request:
    method: str
    uri: str
    headers: list[tuple[str, str]]
    body: str

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k == name]

    def one(self, name: str) -> str:
        values = self.all(name)
        return values[0] if values else ""


def parse_request(data: bytes) -> Request | None:
    """A SIP request (None for a response or garbage: a stand-in ignores what it never asked)."""
    text = data.decode("utf-8", errors="replace")
    head, _, body = text.partition("\r\n\r\n")
    lines = head.split("\r\n")
    first = lines[0].split(" ")
    if len(first) != 3 or not first[2].startswith("SIP/2.0"):
        return None
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            key = name.strip().lower()
            headers.append((_COMPACT.get(key, key), value.strip()))
    return Request(first[0], first[1], headers, body)


@dataclass
class Call:
    call_id: str
    rtp: socket.socket
    wav: object  # an unbuffered binary file
    path: Path
    response: bytes
    source: tuple[str, int]
    answered_at: float
    ssrc: bytes = b"\x0e\xc4\x00\x00"
    acked: bool = False
    frames: int = 0
    next_retransmit: float = 0.0


@dataclass
class PbxStandIn:
    name: str
    host: str
    port: int
    recordings: Path
    sock: socket.socket = field(init=False)
    calls: dict[str, Call] = field(default_factory=dict)
    answered: int = 0
    selector: selectors.BaseSelector = field(default_factory=selectors.DefaultSelector)

    def __post_init__(self) -> None:
        self.recordings.mkdir(parents=True, exist_ok=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((self.host, self.port))
        self.sock.setblocking(False)
        self.selector.register(self.sock, selectors.EVENT_READ, None)

    # -- SIP ------------------------------------------------------------------------------
    def reply(
        self, req: Request, code: str, to_tag: str = "", extra: str = "", body: str = ""
    ) -> bytes:
        to = req.one("to")
        if to_tag and ";tag=" not in to:
            to += f";tag={to_tag}"
        lines = [f"SIP/2.0 {code}"]
        lines += [f"Via: {v}" for v in req.all("via")]
        lines += [f"From: {req.one('from')}", f"To: {to}", f"Call-ID: {req.one('call-id')}"]
        lines += [f"CSeq: {req.one('cseq')}"]
        lines += [f"Record-Route: {r}" for r in req.all("record-route")]
        lines.append(f"X-Pbx: {self.name}")
        if extra:
            lines.append(extra)
        if body:
            lines.append("Content-Type: application/sdp")
        lines.append(f"Content-Length: {len(body.encode())}")
        return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()

    def on_sip(self, data: bytes, source: tuple[str, int]) -> None:
        req = parse_request(data)
        if req is None:
            return
        call_id = req.one("call-id")
        call = self.calls.get(call_id)
        if req.method == "OPTIONS":
            self.sock.sendto(self.reply(req, "200 OK", to_tag="opt"), source)
        elif req.method == "INVITE" and call is not None:
            self.sock.sendto(call.response, source)  # a retransmission, or a re-INVITE
        elif req.method == "INVITE":
            self.answer(req, source)
        elif req.method == "ACK" and call is not None:
            call.acked = True
        elif req.method in ("BYE", "CANCEL"):
            self.sock.sendto(self.reply(req, "200 OK"), source)
            if call is not None:
                self.hang_up(call)
        elif req.method != "ACK":
            self.sock.sendto(self.reply(req, "501 Not Implemented"), source)

    def answer(self, req: Request, source: tuple[str, int]) -> None:
        call_id = req.one("call-id")
        rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rtp.bind((self.host, 0))
        rtp.setblocking(False)
        port = rtp.getsockname()[1]
        sdp = (
            f"v=0\r\no=pbx 1 1 IN IP4 {self.host}\r\ns=-\r\nc=IN IP4 {self.host}\r\nt=0 0\r\n"
            f"m=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n"
        )
        contact = f"Contact: <sip:pbx@{self.host}:{self.port}>"
        response = self.reply(
            req, "200 OK", to_tag=f"{self.name}-{len(self.calls)}", extra=contact, body=sdp
        )
        path = self.recordings / f"{safe_call_id(call_id)}.wav"
        wav = open(path, "wb", buffering=0)  # noqa: SIM115 (open for the call's length)
        wav.write(wav_header(0))
        now = time.monotonic()
        call = Call(
            call_id, rtp, wav, path, response, source, now, next_retransmit=now + RETRANSMIT_S
        )
        call.ssrc = struct.pack("!I", 0x0EC40000 + (self.answered & 0xFFFF))
        self.answered += 1
        self.calls[call_id] = call
        self.selector.register(rtp, selectors.EVENT_READ, call)
        self.sock.sendto(response, source)

    def hang_up(self, call: Call) -> None:
        """The call's end: MixMonitor writes the sizes and closes the file."""
        self.calls.pop(call.call_id, None)
        self.selector.unregister(call.rtp)
        call.rtp.close()
        call.wav.seek(0)  # type: ignore[attr-defined]
        call.wav.write(wav_header(2 * call.frames))  # type: ignore[attr-defined]
        call.wav.close()  # type: ignore[attr-defined]

    # -- media ----------------------------------------------------------------------------
    def on_rtp(self, call: Call) -> None:
        while True:
            try:
                packet, sender = call.rtp.recvfrom(2048)
            except BlockingIOError:
                return
            if len(packet) < 12 or packet[0] >> 6 != 2:
                continue
            # the echo: the centre's side of the call, as its own stream (a PBX's SSRC)
            call.rtp.sendto(packet[:8] + call.ssrc + packet[12:], sender)
            if packet[1] & 0x7F != 0:
                continue  # PCMU only (the SDP offers nothing else)
            start = 12 + 4 * (packet[0] & 0x0F)
            payload = packet[start:]
            call.wav.write(b"".join([_LINEAR[b] for b in payload]))  # type: ignore[attr-defined]
            call.frames += len(payload)

    def retransmit(self) -> None:
        now = time.monotonic()
        for call in list(self.calls.values()):
            if call.acked or now < call.next_retransmit:
                continue
            if now - call.answered_at > GIVE_UP_S:
                self.hang_up(call)  # no ACK ever came: the call never started
                continue
            self.sock.sendto(call.response, call.source)
            call.next_retransmit = now + RETRANSMIT_S
            print(f"200 OK again (no ACK yet): {call.call_id}", flush=True)

    def serve(self, stop: list[bool]) -> None:
        while not stop:
            for key, _ in self.selector.select(timeout=0.1):
                if key.data is None:
                    self.drain_sip()
                else:
                    self.on_rtp(key.data)
            self.retransmit()
        for call in list(self.calls.values()):
            self.hang_up(call)

    def drain_sip(self) -> None:
        while True:
            try:
                data, source = self.sock.recvfrom(65535)
            except BlockingIOError:
                return
            self.on_sip(data, source)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True, help="the name it gives in X-Pbx")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True, help="SIP port (UDP)")
    parser.add_argument("--recordings", type=Path, required=True, help="MixMonitor's directory")
    args = parser.parse_args(argv)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", args.name):
        print(f"--name {args.name!r}: letters, digits, '_', '.', '-' only", file=sys.stderr)
        return 2
    pbx = PbxStandIn(args.name, args.host, args.port, args.recordings)
    stop: list[bool] = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    print(f"pbx {args.name} on udp:{args.host}:{args.port}, pid {os.getpid()}", flush=True)
    pbx.serve(stop)
    return 0


if __name__ == "__main__":
    sys.exit(main())


@dataclass
class RecordingPbx:
    """This stand-in as its own process (tracked by PID), for the lab: ``kill()`` is the PBX's
    death mid-call, its recordings left as they are."""

    name: str
    workdir: Path
    #: its own loopback address: the media ports it takes from the kernel must never be ones
    #: rtpengine (on 127.0.0.1) may take after this PBX died, or rtpengine would send the dead
    #: PBX's calls' audio into its own new calls (a PBX has its own address in production)
    host: str = "127.0.0.2"
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def recordings(self) -> Path:
        """MixMonitor's directory: the PBX shipper's spool."""
        return self.workdir / "recordings"

    @property
    def uri(self) -> str:
        return f"sip:{self.host}:{self.port}"

    def start(self) -> RecordingPbx:
        self.port = self.port or free_port(self.host)
        self.workdir.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "samu_lab.pbx", "--name", self.name, "--host", self.host]
        cmd += ["--port", str(self.port)]
        cmd += ["--recordings", str(self.recordings)]
        with open(self.workdir / "pbx.log", "ab") as log:
            self.proc = subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir
            )
        return self

    def kill(self) -> None:
        kill_process(self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc)
