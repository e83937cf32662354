"""The PBX and edge image recipes, checked without a container engine (none on this machine).

What only `docker build` shows (the tarball's digest, the compile, the TTS output) is left to a
real build; here: the module list equals the one modules.conf loads, the user is the pod's,
the version is the examples', the greeting is the model's default transcript.
"""

import re

import yaml

from samu_operator.core import pbx_contract as contract
from samu_operator.model.tenant import IvrSpec
from tests.helm.charts import EDGE_CHART, REPO

PBX = REPO / "operator" / "images" / "pbx" / "Dockerfile"
EDGE = REPO / "operator" / "images" / "edge" / "Dockerfile"
EXAMPLES = REPO / "helm" / "samu-operator" / "examples"


def _joined(path):
    """The Dockerfile with continuation lines joined and comments dropped."""
    lines = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if not line.lstrip().startswith("#")
    ]
    return re.sub(r"\\\n\s*", " ", "\n".join(lines))


def _arg(text, name):
    return re.search(rf'^ARG {name}="?([^"\n]*)"?$', text, re.M).group(1)


def test_pbx_image_builds_exactly_the_modules_the_configuration_loads():
    text = _joined(PBX)
    menuselect = next(
        line for line in text.splitlines() if "menuselect/menuselect --disable-all" in line
    )
    enabled = re.findall(r"--enable (\S+)", menuselect)
    modules = [e for e in enabled if not e.isupper()]
    sounds = [e for e in enabled if e.isupper()]
    assert sorted(f"{m}.so" for m in modules) == sorted(contract.MODULES)
    assert "CORE-SOUNDS-FR-ALAW" in sounds  # French prompts, A-law like the carrier


def test_pbx_image_is_a_pinned_lts_from_its_tarball_checked_by_digest():
    text = _joined(PBX)
    version = _arg(text, "ASTERISK_VERSION")
    assert re.fullmatch(r"20\.\d+\.\d+", version), "Asterisk 20 is the LTS line"
    assert "asterisk-${ASTERISK_VERSION}.tar.gz" in text and "sha256sum -c" in text
    for example in EXAMPLES.glob("*.yaml"):
        image = yaml.safe_load(example.read_text(encoding="utf-8"))["spec"]["pbx"]["image"]
        assert image.endswith(f":{version}"), (
            f"{example.name} runs {image}, the recipe builds {version}"
        )


def test_pbx_image_user_and_paths_are_the_contracts():
    text = _joined(PBX)
    assert f"USER {contract.UID}:{contract.GID}" in text
    assert f"--uid {contract.UID} --gid {contract.GID}" in text
    assert contract.RELOADER_COMMAND == "/usr/local/bin/samu-pbx-reloader"
    assert f"COPY operator/images/pbx/samu-pbx-reloader {contract.RELOADER_COMMAND}" in text
    assert f"-C {contract.CONFIG_DIR}/asterisk.conf".replace(" ", '", "') in text
    assert "/var/lib/asterisk/sounds/fr/samu/greeting" in text  # the default greetingPrompt
    assert IvrSpec().greeting_prompt == "samu/greeting"


def test_pbx_image_speaks_the_models_default_greeting():
    assert _arg(_joined(PBX), "GREETING_TEXT") == IvrSpec().greeting


def test_edge_image_holds_what_the_chart_runs():
    text = _joined(EDGE)
    values = yaml.safe_load((EDGE_CHART / "values.yaml").read_text(encoding="utf-8"))
    assert f"USER {values['runAsUser']}:{values['runAsGroup']}" in text
    install = next(line for line in text.splitlines() if "apt-get install" in line)
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    tested = re.search(r"^DEBIAN_PACKAGES := (.*)$", makefile, re.M).group(1).split()
    for package in [p for p in tested if p.startswith("kamailio")] + ["rtpengine-daemon"]:
        assert f" {package} " in f" {install} ", f"{package} missing from the edge image"
    assert "FROM ${DEBIAN_IMAGE}" in text and "debian:bookworm" in text


def test_the_contract_page_lists_every_module():
    page = (REPO / "docs" / "pbx-contract.md").read_text(encoding="utf-8")
    assert re.findall(r"^\| `(\S+\.so)` \|", page, re.M) == list(contract.MODULES)
