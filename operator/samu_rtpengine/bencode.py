"""bencode, as rtpengine's ng protocol speaks it.

Hand-written (40 lines) because rtpengine's replies are not key-sorted, which the strict
decoders on PyPI (e.g. fastbencode) reject as "dict keys disordered"; the encoder sorts keys
as the format requires.
"""

from typing import Any


def encode(value: Any) -> bytes:
    """bencodes ints, bytes/str, lists and dicts (keys sorted)."""
    if isinstance(value, bool):
        return encode(b"yes" if value else b"no")
    if isinstance(value, int):
        return b"i%de" % value
    if isinstance(value, str):
        value = value.encode()
    if isinstance(value, bytes):
        return b"%d:%s" % (len(value), value)
    if isinstance(value, list | tuple):
        return b"l" + b"".join(encode(v) for v in value) + b"e"
    if isinstance(value, dict):
        items = sorted((k.encode() if isinstance(k, str) else k, v) for k, v in value.items())
        return b"d" + b"".join(encode(k) + encode(v) for k, v in items) + b"e"
    raise TypeError(f"cannot bencode {type(value).__name__}")


def decode(data: bytes) -> Any:
    """Decodes one bencoded value; byte strings come back as str (ng is text)."""
    value, end = _decode(data, 0)
    if end != len(data):
        raise ValueError(f"trailing bytes after bencoded value at {end}")
    return value


def _decode(data: bytes, i: int) -> tuple[Any, int]:
    lead = data[i : i + 1]
    if lead == b"i":
        end = data.index(b"e", i)
        return int(data[i + 1 : end]), end + 1
    if lead in (b"l", b"d"):
        items: list[Any] = []
        i += 1
        while data[i : i + 1] != b"e":
            item, i = _decode(data, i)
            items.append(item)
        if lead == b"l":
            return items, i + 1
        return dict(zip(items[::2], items[1::2], strict=True)), i + 1
    if lead.isdigit():
        colon = data.index(b":", i)
        start = colon + 1
        end = start + int(data[i:colon])
        if end > len(data):
            raise ValueError("bencoded string runs past the end")
        return data[start:end].decode(errors="replace"), end
    raise ValueError(f"not bencode at byte {i}: {lead!r}")
