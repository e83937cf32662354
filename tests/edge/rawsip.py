"""Hand-made SIP datagrams for the bad-input tests (SIPp cannot send broken messages)."""

import socket
import uuid

from tests.edge.harness import HOST


def invite(
    port: int,
    number: str,
    *,
    max_forwards: int = 70,
    department: str = "",
    extra: tuple[str, ...] = (),
) -> bytes:
    branch = "z9hG4bK" + uuid.uuid4().hex[:16]
    headers = [
        f"INVITE sip:{number}@{HOST}:{port} SIP/2.0",
        f"Via: SIP/2.0/UDP {HOST}:{{lport}};branch={branch}",
        f"From: <sip:0466000001@{HOST}>;tag={uuid.uuid4().hex[:8]}",
        f"To: <sip:{number}@{HOST}>",
        f"Call-ID: {uuid.uuid4().hex}@{HOST}",
        "CSeq: 1 INVITE",
        f"Contact: <sip:0466000001@{HOST}:{{lport}}>",
        f"Max-Forwards: {max_forwards}",
    ]
    if department:
        headers.append(f"X-Samu-Departement: {department}")
    headers += [*extra, "Content-Length: 0", "", ""]
    return "\r\n".join(headers).encode()


def exchange(port: int, message: bytes, timeout: float = 2.0) -> str | None:
    """Send one datagram to the edge; the status line of the first final reply, or None."""
    reply = final_reply(port, message, timeout)
    return reply.split("\r\n", 1)[0] if reply is not None else None


def final_reply(
    port: int, message: bytes, timeout: float = 2.0, *, source: str = HOST
) -> str | None:
    """Send one datagram to the edge (from ``source``, another 127.0.0.0/8 address for a
    sender that is not one of the PBX); the whole first final reply, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(timeout)
        lport = sock.getsockname()[1]
        sock.sendto(message.replace(b"{lport}", str(lport).encode()), (HOST, port))
        try:
            while True:
                data, _ = sock.recvfrom(65535)
                reply = data.decode(errors="replace")
                if not reply.startswith("SIP/2.0 1"):
                    return reply
        except TimeoutError:
            return None
