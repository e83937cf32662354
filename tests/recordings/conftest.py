"""Fixtures of the recording tests: a loopback Swift per test module."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.recordings.swiftlab import SwiftLab


@pytest.fixture(scope="module")
def swift(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SwiftLab]:
    lab = SwiftLab(Path(tmp_path_factory.mktemp("swift")))
    try:
        yield lab.start()
    finally:
        lab.stop()
