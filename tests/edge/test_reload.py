"""Runtime reloads of the operator-written tables: atomic files, every change seen by
Kamailio even when two come within one second."""

import os

import pytest

from samu_operator.edge.files import write_atomic
from samu_operator.edge.rpc import RpcError
from tests.edge.conftest import Lab, tenant_doc


def test_write_atomic_replaces_whole_files_and_reports_changes(tmp_path) -> None:
    path = tmp_path / "d" / "dispatcher.list"
    assert write_atomic(path, "one\n")
    inode = path.stat().st_ino
    assert not write_atomic(path, "one\n"), "same text: nothing to write, nothing to reload"
    assert write_atomic(path, "two\n", distinct_mtime=True)
    assert path.read_text() == "two\n" and path.stat().st_ino != inode  # renamed over, not edited
    first = int(path.stat().st_mtime)
    assert write_atomic(path, "three\n", distinct_mtime=True)
    assert int(path.stat().st_mtime) > first
    assert [p.name for p in path.parent.iterdir()] == ["dispatcher.list"]  # no temp file left
    assert oct(os.stat(path).st_mode & 0o777) == "0o644"


def _lookup(lab: Lab, key: str) -> object:
    try:
        return lab.edge.rpc.call("htable.get", "routing", key)
    except RpcError:
        return None


@pytest.mark.sip
def test_changes_within_one_second_all_reach_kamailio(lab: Lab) -> None:
    lab.add_pbx("samu-30", "a")
    lab.add_pbx("samu-30", "b")
    lab.start([tenant_doc("30", numbers=["+33466000015"])])
    assert _lookup(lab, "n+33466000015")
    for number in ("+33466000016", "+33466000017"):  # two renumberings in a row
        result = lab.apply([tenant_doc("30", numbers=[number])])
        assert result.changed
    assert _lookup(lab, "n+33466000015") is None
    assert _lookup(lab, "n+33466000016") is None
    assert _lookup(lab, "n+33466000017")
    run = lab.caller(number="+33466000017").run(rate=20, calls=5)
    assert run.failed_setups == 0


def test_sidecar_module_registers_no_operator_handler() -> None:
    """The edge pod's sidecar runs `kopf run -m samu_operator.edge.sidecar`: it must not pull
    in the operator's handlers (it would reconcile and fail over tenants a second time)."""
    import subprocess
    import sys

    code = (
        "import sys, kopf, samu_operator.edge.sidecar\n"
        "assert not [m for m in sys.modules if m.startswith('samu_operator.handlers')]\n"
        "names = {h.id for h in kopf.get_default_registry()._watching.get_all_handlers()}\n"
        "assert names == {'edge_tenant_event'}, names\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
