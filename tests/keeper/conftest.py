"""The keeper tests' fixtures: a throw-away redis-server on 127.0.0.1, and the keeper lab
(rtpengine, PBX stand-ins and keeper daemons), each stopped by the PID of what it started."""

import shutil

import pytest


@pytest.fixture
def redis_url(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed (Debian package redis-server: make debs)")
    from tests.keeper.lab import RedisServer

    server = RedisServer(tmp_path).start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def keeper_lab(tmp_path, redis_url):
    """rtpengine, two PBX stand-ins echoing audio and one keeper, all on 127.0.0.1."""
    from tests.edge.harness import Rtpengine, missing_binaries
    from tests.keeper.lab import Lab

    missing = missing_binaries()
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)} (make debs)")
    lab = Lab(tmp_path, redis_url, Rtpengine(tmp_path / "rtpengine").start())
    try:
        yield lab
    finally:
        lab.stop()
