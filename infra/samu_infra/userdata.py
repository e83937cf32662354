"""Read back what a node's cloud-init does: its files, its commands, the URLs it fetches.

Pure: the guardrails and the plan read the ``userData`` the program declared, so what they
judge is exactly what a node would run, not a second description of it.
"""

import re
from collections.abc import Iterator
from typing import Any

import yaml

_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"|;)]+", re.I)


def cloud_config(user_data: Any) -> dict[str, Any]:
    """The cloud-config mapping of a ``#cloud-config`` user data; {} for anything else."""
    if not isinstance(user_data, str) or not user_data.startswith("#cloud-config"):
        return {}
    doc = yaml.safe_load(user_data)
    return doc if isinstance(doc, dict) else {}


def files(user_data: Any) -> dict[str, str]:
    """path -> content of the files cloud-init writes."""
    return {
        str(f.get("path")): str(f.get("content", ""))
        for f in cloud_config(user_data).get("write_files") or []
        if isinstance(f, dict)
    }


def commands(user_data: Any) -> list[str]:
    return [str(c) for c in cloud_config(user_data).get("runcmd") or []]


def urls(user_data: Any) -> list[str]:
    """Every URL in the commands and files (registries.yaml endpoints, HelmChart charts...)."""
    texts = [*commands(user_data), *files(user_data).values()]
    return [m.group(0) for text in texts for m in _URL.finditer(text)]


def manifests(user_data: Any, directory: str) -> Iterator[dict[str, Any]]:
    """The Kubernetes objects of the files cloud-init writes under ``directory``."""
    for path, content in files(user_data).items():
        if path.startswith(directory.rstrip("/") + "/") and path.endswith((".yaml", ".yml")):
            yield from (d for d in yaml.safe_load_all(content) if isinstance(d, dict))
