"""The loopback Swift, now in the call lab package (``samu_lab.swift``)."""

from pathlib import Path

from samu_lab.swift import (  # noqa: F401
    KEY,
    SERVER_PIPELINE,
    STORAGE_POLICY,
    USER,
    SwiftLab,
    free_port,
    wait_port,
)

REPO = Path(__file__).resolve().parents[2]
