"""Read a YAML file as strictly as the API server: UTF-8 only, no binary, no duplicate key.

PyYAML silently keeps the last of two equal keys and decodes whatever bytes it is given;
the API server refuses duplicate fields and non-UTF-8 bodies. Every problem here becomes one
:class:`InputError` line that names the file and the fix, never a traceback.
"""

import sys
from pathlib import Path
from typing import Any

import yaml

#: Larger than any set of SamuTenants or stack file (100 tenants from `kubectl get -o yaml`
#: are about 300 KiB): a bigger file is a wrong path, not an input.
MAX_BYTES = 8 * 1024 * 1024


class InputError(ValueError):
    """An input file that cannot be used: ``source`` and one line saying what to do."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping (the API server does too)."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    loader.flatten_mapping(node)
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            first = seen.setdefault(key, line)
        except TypeError:  # an unhashable key: let PyYAML report it
            continue
        if first != line:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"key {key!r} is given twice (lines {first} and {line}): keep one",
                key_node.start_mark,
            )
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


#: The path that means standard input (``kubectl get samu -o yaml | samuctl ... -``).
STDIN = "-"


def read_text(path: Path, what: str = "file") -> str:
    """The file's text, or InputError: missing, a directory, unreadable, huge, binary, not UTF-8.

    Pipes are read too (``<(kubectl get samu -o yaml)``, or ``-`` for standard input), up
    to the same size limit.
    """
    source = str(path)
    try:
        if source == STDIN:
            data = sys.stdin.buffer.read(MAX_BYTES + 1)
        elif path.is_dir():
            raise InputError(source, f"is a directory: give the {what} itself")
        else:
            with path.open("rb") as stream:
                data = stream.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise InputError(source, "no such file: check the path") from None
    except PermissionError:
        raise InputError(source, "cannot be read (permission denied): check its mode") from None
    except OSError as exc:
        raise InputError(source, f"cannot be read ({exc.strerror}): check the path") from None
    if len(data) > MAX_BYTES:
        raise InputError(
            source, f"is larger than {MAX_BYTES} bytes, too large for a {what}: check the path"
        )
    if b"\0" in data[:8192]:
        raise InputError(source, f"is a binary file, not a YAML {what}: check the path")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            source,
            f"line {line} is not UTF-8 (byte {exc.start}): save the file as UTF-8 "
            "(e.g. iconv -f latin1 -t utf-8)",
        ) from None


def parse_all(text: str, source: str) -> list[Any]:
    """Every non-empty YAML document of ``text``; InputError on bad YAML or a repeated key."""
    try:
        return [d for d in yaml.load_all(text, Loader=_StrictLoader) if d is not None]
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}" if mark else ""
        problem = exc.problem or exc.context or "cannot be parsed"
        raise InputError(source, f"not valid YAML{where}: {problem}: fix it there") from None
    except yaml.YAMLError as exc:
        raise InputError(source, f"not valid YAML ({exc}): fix the file") from None


def load_all(path: Path, what: str = "file") -> list[Any]:
    """Read and parse a YAML file strictly (see the module docstring)."""
    return parse_all(read_text(path, what), str(path))
