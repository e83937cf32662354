"""The operator image, checked without a container engine (none on this machine).

What only `docker build` can show (base image pull, the wheel build, the import at the end of
the build stage) is listed in the issue's closing note; here: the Dockerfile's promises,
the pinned requirements against pyproject.toml, and the entrypoint script run for real.
"""

import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.helm.charts import OPERATOR_CHART, REPO, load_values

DOCKERFILE = REPO / "operator" / "Dockerfile"
REQUIREMENTS = REPO / "operator" / "requirements-image.txt"
ENTRYPOINT = REPO / "operator" / "docker-entrypoint.sh"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _pins() -> dict[str, str]:
    pins = {}
    for line in REQUIREMENTS.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"unpinned requirement {line!r}"
            pins[canonicalize_name(name)] = version
    return pins


def test_final_stage_runs_as_a_numeric_non_root_user():
    instructions = _instructions()
    last_from = max(i for i, (word, _) in enumerate(instructions) if word == "FROM")
    users = [arg for word, arg in instructions[last_from:] if word == "USER"]
    assert users, "the final stage must set USER"
    uid, _, gid = users[-1].partition(":")
    assert uid.isdigit() and int(uid) != 0 and (not gid or int(gid) != 0)
    assert int(uid) == load_values(OPERATOR_CHART)["runAsUser"], "chart and image disagree"


def test_base_image_is_slim_and_pinned():
    (arg,) = [a for w, a in _instructions() if w == "ARG" and a.startswith("PYTHON_IMAGE=")]
    image = arg.split("=", 1)[1]
    name, _, tag = image.rpartition(":")
    assert name == "python" and "slim" in tag and tag != "latest"
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    minimum = re.search(r">=\s*(\d+\.\d+)", project["requires-python"])[1]
    assert tag.startswith(minimum), f"image Python {tag} differs from the project's {minimum}"


def test_dependencies_installed_from_the_pins_then_the_project_without_deps():
    runs = [a for w, a in _instructions() if w == "RUN"]
    assert any("-r /src/operator/requirements-image.txt" in r and "--no-deps" in r for r in runs)
    assert any("install --no-deps /src" in r for r in runs)
    assert any("import kopf, samu_operator.handlers" in r for r in runs)


def test_pins_satisfy_pyproject_and_cover_the_operator_runtime():
    pins = _pins()
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    runtime = {"kopf", "kubernetes", "pydantic", "pyyaml", "prometheus-client"}
    for spec in project["dependencies"]:
        req = Requirement(spec)
        name = canonicalize_name(req.name)
        if name in runtime:
            assert name in pins, f"{name} is not pinned for the image"
            assert req.specifier.contains(pins[name]), f"{name}=={pins[name]} breaks {req}"
    # What the operator image must not carry (infra and the embedded drill only).
    assert not {"pulumi", "pulumi-openstack", "pulumi-kubernetes", "kmock"} & set(pins)


def test_entrypoint_and_cmd():
    instructions = dict(_instructions())
    assert instructions["ENTRYPOINT"] == '["/usr/local/bin/samu-operator"]'
    cmd = instructions["CMD"]
    for arg in ("--all-namespaces", "--peering=", "--liveness=http://0.0.0.0:8080/healthz"):
        assert arg in cmd
    assert f"--module={load_values(OPERATOR_CHART)['operator']['module']}" in cmd


@pytest.fixture
def fake_kopf(tmp_path: Path) -> Path:
    """A `kopf` on PATH that prints the arguments it gets, one per line."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    kopf = bindir / "kopf"
    kopf.write_text('#!/bin/sh\nfor a in "$@"; do echo "$a"; done\n')
    kopf.chmod(0o755)
    return bindir


def _entry(fake_kopf: Path, **env: str) -> list[str]:
    full_env = {"PATH": f"{fake_kopf}:/usr/bin:/bin", **env}
    proc = subprocess.run(
        ["/bin/sh", str(ENTRYPOINT), "--all-namespaces", "--peering=samu-operator"],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=30,
        check=True,
    )
    return proc.stdout.splitlines()


def test_entrypoint_gives_each_pod_its_own_peering_priority(fake_kopf):
    first = _entry(fake_kopf, POD_NAME="samu-operator-7d9f-abcde")
    second = _entry(fake_kopf, POD_NAME="samu-operator-7d9f-fghij")
    assert first[0] == "run" and first[2:] == ["--all-namespaces", "--peering=samu-operator"]
    assert re.fullmatch(r"--priority=\d+", first[1])
    assert first[1] != second[1], "two replicas with one priority would both freeze"
    assert _entry(fake_kopf, POD_NAME="samu-operator-7d9f-abcde") == first  # stable per pod


def test_entrypoint_honours_an_explicit_priority(fake_kopf):
    assert _entry(fake_kopf, POD_NAME="x", KOPF_PRIORITY="100")[1] == "--priority=100"


def test_entrypoint_is_executable():
    assert os.access(ENTRYPOINT, os.X_OK)
