"""The shipper program refuses a wrong setting at start with one line naming it."""

import os
import subprocess
import sys

import pytest

BASE = {"PATH": os.environ["PATH"], "SAMU_SHIPPER_SPOOL": "/nonexistent/spool",
        "SAMU_SHIPPER_STATE": "/nonexistent/state", "SAMU_SHIPPER_ZONE": "fr-par-1a"}  # fmt: skip


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"SAMU_SHIPPER_SOURCE": "rtp"}, "SAMU_SHIPPER_SOURCE"),
        ({"SAMU_SHIPPER_SOURCE": "pbx"}, "SAMU_SHIPPER_TENANT"),
        ({"SAMU_SHIPPER_SOURCE": "edge"}, "OS_AUTH_URL"),
        (
            {"SAMU_SHIPPER_SOURCE": "edge", "OS_AUTH_URL": "http://keystone:5000/v3"},
            "OS_APPLICATION_CREDENTIAL_ID",
        ),
    ],
)
def test_bad_settings_stop_the_shipper_with_one_line(env, names):
    done = subprocess.run(
        [sys.executable, "-m", "samu_recordings.shipper"],
        env={**BASE, **env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and names in done.stderr
