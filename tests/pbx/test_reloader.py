"""The PBX's config reloader (operator/images/pbx/samu-pbx-reloader), run for real.

A stand-in `asterisk` records the remote-console commands it is given (no Asterisk runs
here). The configuration is mounted as Kubernetes mounts a ConfigMap: files behind a ``..data``
link swapped atomically. A changed dialplan is reloaded, never restarted; a changed
asterisk.conf is only reported for a planned switchover.
"""

import os
import subprocess
import time
from pathlib import Path

import pytest

from samu_operator.core import asterisk, desired
from samu_operator.core import pbx_contract as contract
from samu_operator.model import validate_tenant
from tests.helm.charts import REPO
from tests.operator.harness import example

RELOADER = REPO / "operator" / "images" / "pbx" / "samu-pbx-reloader"
FAKE_ASTERISK = """#!/bin/sh
echo "$*" >> "{log}"
[ ! -e "{fail}" ]
"""


def _publish(config: Path, files: dict[str, str], version: int) -> None:
    """Write a ConfigMap's files the kubelet's way: a new directory, then one link swap."""
    data = config / f"..{version}"
    data.mkdir()
    for name, text in files.items():
        (data / name).write_text(text, encoding="utf-8")
        if not (config / name).is_symlink():
            (config / name).symlink_to(f"..data/{name}")
    tmp = config / "..data_tmp"
    tmp.symlink_to(data.name)
    os.replace(tmp, config / "..data")


def _wait(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def reloader(tmp_path):
    config, secrets, log = tmp_path / "config", tmp_path / "secrets", tmp_path / "cli.log"
    config.mkdir()
    secrets.mkdir()
    fake = tmp_path / "asterisk"
    fake.write_text(FAKE_ASTERISK.format(log=log, fail=tmp_path / "fail"))
    fake.chmod(0o755)
    tenant = validate_tenant(example("samu-30"))
    files = asterisk.render(tenant.name, tenant.spec)
    _publish(config, files, 1)
    (secrets / desired.SECRET_KEY).write_text("[edge-auth]\n")
    env = {
        "PATH": os.environ["PATH"],
        "SAMU_PBX_CONFIG_DIR": str(config),
        "SAMU_PBX_SECRETS_DIR": str(secrets),
        "SAMU_PBX_RELOAD_SECONDS": "0.1",
        "SAMU_PBX_ASTERISK": str(fake),
    }
    proc = subprocess.Popen(
        ["sh", str(RELOADER)], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    state = {"config": config, "secrets": secrets, "log": log, "files": files, "proc": proc}
    state["fail"] = tmp_path / "fail"
    try:
        time.sleep(0.5)  # its first scan only learns the files
        yield state
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _commands(state):
    return state["log"].read_text().splitlines() if state["log"].exists() else []


def test_nothing_runs_while_nothing_changes(reloader):
    time.sleep(0.6)
    assert _commands(reloader) == []


def test_a_changed_dialplan_and_queues_are_reloaded_never_restarted(reloader):
    files = dict(reloader["files"])
    files["extensions.conf"] += "; changed\n"
    files["queues.conf"] += "; changed\n"
    _publish(reloader["config"], files, 2)
    conf = f"-C {reloader['config']}/asterisk.conf -rx"
    expected = {f"{conf} dialplan reload", f"{conf} module reload app_queue.so"}
    assert _wait(lambda: set(_commands(reloader)) >= expected), _commands(reloader)
    time.sleep(0.5)
    assert sorted(_commands(reloader)) == sorted(expected)  # each once, nothing else
    assert not any("restart" in c or "stop" in c for c in _commands(reloader))


def test_a_changed_secret_reloads_pjsip(reloader):
    (reloader["secrets"] / desired.SECRET_KEY).write_text("[edge-auth]\n; rotated\n")
    assert _wait(lambda: any("module reload res_pjsip.so" in c for c in _commands(reloader)))


def test_a_change_needing_a_restart_is_reported_not_applied(reloader):
    files = dict(reloader["files"])
    files["modules.conf"] += "; changed\n"
    _publish(reloader["config"], files, 2)
    time.sleep(0.8)
    assert _commands(reloader) == []
    reloader["proc"].kill()
    out = reloader["proc"].communicate(timeout=10)[0]
    assert "SAMU-PBX-RESTART-NEEDED modules.conf" in out


def test_a_failed_reload_is_retried(reloader):
    reloader["fail"].touch()
    files = dict(reloader["files"])
    files["extensions.conf"] += "; changed\n"
    _publish(reloader["config"], files, 2)
    assert _wait(lambda: len(_commands(reloader)) >= 2)  # tried again while Asterisk refuses
    reloader["fail"].unlink()
    n = len(_commands(reloader))
    assert _wait(lambda: len(_commands(reloader)) > n)
    time.sleep(0.5)
    settled = len(_commands(reloader))
    time.sleep(0.5)
    assert len(_commands(reloader)) == settled, "once applied, it stops"


def test_the_map_covers_what_the_operator_renders():
    text = contract.reload_map()
    assert "extensions.conf dialplan reload\n" in text and "asterisk.conf restart\n" in text
