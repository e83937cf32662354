"""The chart's crds/ holds exactly the CRD generated from the model, and Helm ships it."""

import subprocess
import sys

import yaml

from samu_operator.model.crd import crd_manifest, render_crd_yaml
from tests.helm.charts import OPERATOR_CHART, REPO, render

CRD_FILE = OPERATOR_CHART / "crds" / "samutenants.samu-platform.io.yaml"


def test_crd_file_equals_the_generated_one():
    assert CRD_FILE.read_text(encoding="utf-8") == render_crd_yaml()


def test_samuctl_crd_generate_check_agrees():
    proc = subprocess.run(
        [sys.executable, "-m", "samuctl", "crd", "generate", "--check", "--path", str(CRD_FILE)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr


def test_crds_dir_holds_only_generated_files():
    # Kopf's peering CRD is a template (peering.yaml), never a hand-written file in crds/.
    assert sorted(p.name for p in (OPERATOR_CHART / "crds").iterdir()) == [CRD_FILE.name]


def test_helm_ships_the_generated_crd():
    crds = render(OPERATOR_CHART).crds
    assert [c["name"] for c in crds] == ["crds/samutenants.samu-platform.io.yaml"]
    assert yaml.safe_load(crds[0]["data"]) == crd_manifest()
