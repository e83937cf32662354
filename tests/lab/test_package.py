"""The call lab as a package: its SIPp scenarios install with it, and it runs the edge
chart's own Kamailio configuration."""

import fnmatch
import re
import tomllib

import pytest

from samu_lab import paths
from samu_lab.procs import LabError
from tests.conftest import REPO

LAB = REPO / "operator" / "samu_lab"


def test_every_scenario_file_is_package_data():
    globs = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"
    ]["samu_lab"]
    files = [p.relative_to(LAB).as_posix() for p in (LAB / "scenarios").iterdir()]
    assert files
    left_out = [f for f in files if not any(fnmatch.fnmatch(f, g) for g in globs)]
    assert not left_out, f"not installed with samu_lab: {left_out}"


def test_every_scenario_the_lab_names_ships_in_the_package():
    named = set()
    for module in LAB.glob("*.py"):
        named |= set(re.findall(r"\"(\w+\.xml)\"", module.read_text()))
    assert named
    missing = [n for n in sorted(named) if not (paths.SCENARIOS / n).is_file()]
    assert not missing, missing
    for name in named:
        assert paths.scenario(name).parent == paths.SCENARIOS


def test_the_lab_runs_the_edge_charts_own_config(monkeypatch):
    monkeypatch.delenv(paths.EDGE_CFG_ENV, raising=False)
    assert paths.edge_config() == REPO / "helm" / "samu-edge" / "files" / "kamailio.cfg"
    monkeypatch.setenv(paths.EDGE_CFG_ENV, str(REPO / "no-such.cfg"))
    with pytest.raises(LabError, match=paths.EDGE_CFG_ENV):
        paths.edge_config()


def test_an_unknown_scenario_is_named_in_the_error():
    with pytest.raises(LabError, match=r"nope\.xml"):
        paths.scenario("nope.xml")
