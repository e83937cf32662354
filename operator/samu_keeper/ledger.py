"""A failed rescue's call-back record, appended to the edge's dropped-calls journal (one JSON
line, fsynced), which the edge's sidecar publishes to the tenant's ``dropped-calls``
ConfigMap, exactly as for a call Kamailio saw dropped; and logged as ``SAMU-DROPPED-CALL``.

One ``write`` of a whole line on a file opened ``O_APPEND``: lines from the keeper and from
the sidecar never interleave.
"""

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path

LOG = logging.getLogger(__name__)


def append(path: str, record: Mapping[str, object]) -> None:
    line = json.dumps(dict(record), sort_keys=True, separators=(",", ":"))
    LOG.error("SAMU-DROPPED-CALL %s", line)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, (line + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
