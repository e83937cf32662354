"""rtpengine's spool as the edge leaves it, now in the call lab package (``samu_lab.spool``)."""

from samu_lab.spool import (  # noqa: F401
    Recording,
    _metadata_files,
    caller_markers,
    final_metadata,
    metadata_of,
    recording_of,
    recordings_of,
)
