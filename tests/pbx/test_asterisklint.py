"""An outside checker on every rendered dialplan: asterisklint's dialplan-check (PyPI).

It knows Asterisk's applications, functions and dialplan syntax; a W_ or E_ finding fails the
test (H_ hints are style only). Run on every example and on generated variants.
"""

import copy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from samu_operator.core import asterisk
from samu_operator.model import validate_tenant
from tests.operator.harness import example

ASTERISKLINT = Path(sys.executable).with_name("asterisklint")
EXAMPLES = ("samu-30", "samu-13", "samu-2a", "samu-974")


def _variant(name, **changes):
    doc = copy.deepcopy(example("samu-30"))
    for path, value in changes.items():
        node = doc["spec"]
        keys = path.split("__")
        for key in keys[:-1]:
            node = node[key]
        if value is None:
            node.pop(keys[-1], None)
        else:
            node[keys[-1]] = value
    return name, doc


VARIANTS = [
    _variant("no-partner", overflow=None),
    _variant("one-queue", queues=[{"name": "general", "priority": 0}]),
    _variant(
        "many-queues",
        queues=[{"name": f"q{i}", "priority": i, "maxWaitSeconds": 5 + i} for i in range(10)],
    ),
    _variant("digit-0", ivr={"vitalDistressDigit": "0", "greetingPrompt": "samu/sud/accueil"}),
    _variant("no-numbers", numbers=[]),
    _variant("hostile-text", displayName="x ;-- [from-edge] exten => s,1,Hangup() --;"),
]


def findings(extensions_conf: str, workdir: Path) -> list[str]:
    """asterisklint's W_/E_ findings for one extensions.conf."""
    (workdir / "extensions.conf").write_text(extensions_conf, encoding="utf-8")
    run = subprocess.run(
        [str(ASTERISKLINT), "dialplan-check", "extensions.conf"],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    lines = (run.stdout + run.stderr).splitlines()
    bad = [line for line in lines if " W_" in line or " E_" in line]
    assert bad or all(" H_" in line for line in lines), f"unexpected output: {lines}"
    return bad


@pytest.fixture(scope="module")
def lint_ready():
    if not ASTERISKLINT.exists() and not shutil.which("asterisklint"):
        pytest.fail("asterisklint missing: run `make setup` (it is a test dependency)")


@pytest.mark.parametrize(
    "doc",
    [example(n) for n in EXAMPLES] + [d for _, d in VARIANTS],
    ids=[*EXAMPLES, *(n for n, _ in VARIANTS)],
)
def test_rendered_dialplan_is_lint_clean(doc, tmp_path, lint_ready):
    tenant = validate_tenant(doc)
    assert findings(asterisk.extensions_conf(tenant.name, tenant.spec), tmp_path) == []


def test_the_checker_finds_a_broken_dialplan(tmp_path, lint_ready):
    """The check above can fail: a misspelt application is an error."""
    tenant = validate_tenant(example("samu-30"))
    text = asterisk.extensions_conf(tenant.name, tenant.spec).replace("Background(", "Bakground(")
    assert any("E_APP_MISSING" in f for f in findings(text, tmp_path))
