"""samuctl drill --status: the tenant status table read from the embedded default's API (the
emulator the drill runs), after the zone loss, as it would be read from a cluster."""

import json

import pytest

from samuctl.main import main

pytestmark = pytest.mark.e2e


def test_drill_status_reads_the_embedded_default(capsys):
    assert main(["drill", "--tenants", "3", "--status", "-o", "json"]) == 0
    out, err = capsys.readouterr()
    assert err == ""  # -o json: no progress, nothing on stderr
    report = json.loads(out)
    rows = {row["name"]: row for row in report["status"]}
    assert sorted(rows) == ["samu-01", "samu-02", "samu-03"]
    moved = [row for row in rows.values() if row["last_failover"]]
    assert len(moved) == report["affected"] >= 1
    for row in moved:
        assert row["last_failover"]["from"] == "a" and row["active_zone"] != "a"
        assert row["epoch"] >= 2
    assert all(row["epoch"] >= 1 and row["call_backs"] == 0 for row in rows.values())
