"""Fixtures of the media tests: the edge's lab (tests/edge/conftest.py) with rtpengine."""

from tests.edge.conftest import lab  # noqa: F401  (the same real Kamailio + rtpengine lab)
