"""samuctl drill --status: the tenant status table read from the embedded default's API (the
emulator the drill runs), after the zone loss, as it would be read from a cluster.

Runs samuctl in its own process, as a user does: the drill starts its own emulator and
operator, which must not share a process with the other e2e tests' operators.
"""

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.e2e


@pytest.mark.timeout(300)
def test_drill_status_reads_the_embedded_default():
    done = subprocess.run(
        [sys.executable, "-m", "samuctl", "drill", "--tenants", "3", "--status", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=280,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # -o json: no progress, nothing on stderr
    report = json.loads(done.stdout)
    rows = {row["name"]: row for row in report["status"]}
    assert sorted(rows) == ["samu-01", "samu-02", "samu-03"]
    moved = [row for row in rows.values() if row["last_failover"]]
    assert len(moved) == report["affected"] >= 1
    for row in moved:
        assert row["last_failover"]["from"] == "a" and row["active_zone"] != "a"
        assert row["epoch"] >= 2
    assert all(row["epoch"] >= 1 and row["call_backs"] == 0 for row in rows.values())
