"""Fixtures of the recording tests: a loopback Swift per test module."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.recordings.rtplab import RTPENGINE, Rtpengine
from tests.recordings.swiftlab import SwiftLab


@pytest.fixture(scope="module")
def swift(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwiftLab]:
    lab = SwiftLab(Path(tmp_path_factory.mktemp("swift")))
    try:
        yield lab.start()
    finally:
        lab.stop()


@pytest.fixture
def rtpengine(tmp_path: Path) -> Iterator[Rtpengine]:
    if RTPENGINE is None:
        pytest.skip("rtpengine missing: apt-get install rtpengine-daemon (make debs does)")
    engine = Rtpengine(tmp_path / "spool", tmp_path / "rtpengine.log")
    try:
        yield engine.start()
    finally:
        engine.stop()
