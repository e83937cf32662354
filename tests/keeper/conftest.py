"""A throw-away Redis on 127.0.0.1 for the keeper's replication tests (stopped by its PID)."""

import shutil
import socket
import subprocess
import time

import pytest
import redis


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def redis_url(tmp_path):
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed (Debian package redis-server: make debs)")
    port = _free_port()
    proc = subprocess.Popen(
        [
            server,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError(f"redis-server did not start on 127.0.0.1:{port}") from None
                time.sleep(0.05)
        client.close()
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


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
