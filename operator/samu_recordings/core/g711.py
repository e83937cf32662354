"""G.711 decoding (PCMU and PCMA to 16-bit linear PCM), table-based.

Hand-written because ``audioop`` (which has ``ulaw2lin``/``alaw2lin``) is deprecated and gone in
Python 3.13; the two 256-entry tables below follow ITU-T G.711 and are built once at import.
"""

from array import array


def _ulaw(byte: int) -> int:
    byte = ~byte & 0xFF
    sign, exponent, mantissa = byte & 0x80, (byte >> 4) & 0x07, byte & 0x0F
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return -magnitude if sign else magnitude


def _alaw(byte: int) -> int:
    byte ^= 0x55
    sign, exponent, mantissa = byte & 0x80, (byte >> 4) & 0x07, byte & 0x0F
    magnitude = (
        (mantissa << 4) + 8 if exponent == 0 else ((mantissa << 4) + 0x108) << (exponent - 1)
    )
    return magnitude if sign else -magnitude


ULAW = tuple(_ulaw(b) for b in range(256))
ALAW = tuple(_alaw(b) for b in range(256))

#: RTP static payload types of G.711 (RFC 3551).
PCMU, PCMA = 0, 8


def _byte_tables(table: tuple[int, ...]) -> tuple[bytes, bytes]:
    """The low and high bytes of each sample, as ``bytes.translate`` tables."""
    raw = array("h", table).tobytes()
    if array("h", [1]).tobytes() == b"\x01\x00":  # little-endian host: low byte first
        return raw[0::2], raw[1::2]
    return raw[1::2], raw[0::2]


_ULAW_BYTES, _ALAW_BYTES = _byte_tables(ULAW), _byte_tables(ALAW)


def decode(payload: bytes, payload_type: int = PCMU) -> array:
    """Decodes G.711 bytes into signed 16-bit samples (one per byte): two ``translate`` passes
    (low and high bytes of each sample) interleaved, all in C, instead of a Python loop."""
    low, high = _ALAW_BYTES if payload_type == PCMA else _ULAW_BYTES
    out = bytearray(2 * len(payload))
    out[0::2] = payload.translate(low)
    out[1::2] = payload.translate(high)
    samples = array("h")
    samples.frombytes(bytes(out))
    return samples


def encode_ulaw(sample: int) -> int:
    """Encodes one 16-bit sample as PCMU (used to make test audio; inverse of the table)."""
    bias, clip = 0x84, 32635
    sign = 0x80 if sample < 0 else 0
    sample = min(abs(sample), clip) + bias
    exponent = 7
    for exp in range(7, -1, -1):
        if sample & (0x4000 >> (7 - exp)):
            exponent = exp
            break
    else:
        exponent = 0
    mantissa = (sample >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF
