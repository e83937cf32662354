"""What Asterisk's config parser sees in a file: its sections and dialplan entries.

Follows main/config.c: a ';' not escaped by '\\' starts a comment, ';--' ... '--;' a block
comment (which may span lines), '[name]' (with an optional template suffix) a section;
extensions.conf lines 'exten =>' and 'same =>' add an extension and a priority. Used to check
that free text changes none of them.
"""

import re

_SECTION = re.compile(r"^\[([^\]]*)\]")
_EXTEN = re.compile(r"^exten\s*=>?\s*([^,]*),([^,(]*)")
_SAME = re.compile(r"^same\s*=>?\s*([^,(]*)")


def _strip_comments(text: str) -> list[str]:
    lines, depth = [], 0
    for raw in text.split("\n"):
        out, i = [], 0
        while i < len(raw):
            if depth:
                end = raw.find("--;", i)
                if end < 0:
                    i = len(raw)
                    continue
                depth -= 1
                i = end + 3
                continue
            char = raw[i]
            if char == ";":
                if i > 0 and raw[i - 1] == "\\":
                    out[-1] = ";"
                    i += 1
                    continue
                if raw.startswith(";--", i) and not raw.startswith(";---", i):
                    depth += 1
                    i += 3
                    continue
                break  # a line comment: the rest of the line is ignored
            out.append(char)
            i += 1
        lines.append("".join(out).strip())
    return lines


def structure(text: str) -> list[tuple[str, ...]]:
    """Sections, extensions and priorities in file order; an unclosed block comment too."""
    found: list[tuple[str, ...]] = []
    section, extension = "", ""
    for line in _strip_comments(text):
        if not line:
            continue
        if m := _SECTION.match(line):
            section = m.group(1)
            found.append(("section", section))
        elif m := _EXTEN.match(line):
            extension = m.group(1).strip()
            found.append(("exten", section, extension, m.group(2).strip()))
        elif m := _SAME.match(line):
            found.append(("exten", section, extension, m.group(1).strip()))
        else:
            key = re.split(r"\s*=>?\s*", line, maxsplit=1)[0]
            found.append(("setting", section, key))
    return found
