"""tenant init / explain, the generated field reference, --version and shell completion."""

import subprocess

import pytest
import yaml

from samu_operator.model.departments import DEPARTMENTS
from samu_operator.model.errors import tenant_errors
from samu_operator.model.explain import _COMMENTED, explain, reference_markdown, resolve, walk
from samuctl.main import build_parser, main
from tests.conftest import REPO

REFERENCE = REPO / "docs" / "reference" / "samutenant.md"


@pytest.mark.parametrize("dept", ["30", "2a", "2B", "974", "01"])
def test_init_output_validates_and_is_commented(dept, capsys):
    assert main(["tenant", "init", dept]) == 0
    text = capsys.readouterr().out
    doc = yaml.safe_load(text)
    assert tenant_errors(doc) == []
    assert doc["metadata"]["name"] == f"samu-{dept.lower()}"
    assert doc["spec"]["department"] == dept.upper()
    # Every spec field is there, with its description as a comment above it.
    for path, node, _ in walk():
        # optional objects that name another SAMU, a trunk or a number: commented samples
        commented = next((c for c in _COMMENTED if path.startswith(f"{c}.")), None)
        if commented is not None:
            sample = f"# {commented.rsplit('.', 1)[1]}: {_COMMENTED[commented]}"
            assert sample in text, f"{path}: no commented sample"
        elif path.startswith("spec.") and "[]" not in path:
            name = path.rsplit(".", 1)[1]
            assert f"{name}:" in text, f"{path} missing from the scaffold"
            if node.get("description"):
                assert f"# {node['description']}" in text, f"{path} has no comment"


def test_init_scaffolds_every_departement():
    from samu_operator.model.explain import scaffold

    for dept in sorted(DEPARTMENTS):
        assert tenant_errors(yaml.safe_load(scaffold(dept))) == [], dept


def test_explain_covers_every_field(capsys):
    paths = [path for path, _, _ in walk()]
    assert "spec.pbx.zones" in paths and "status.lastFailover.reason" in paths
    for path, node, _ in walk():
        assert node.get("description"), f"{path} has no description in the model"
        assert main(["tenant", "explain", path]) == 0
        out = capsys.readouterr().out
        assert f"FIELD:    {path.replace('[]', '')} <" in out
        assert node["description"] in out


def test_explain_shows_limits_required_and_children():
    text = explain("spec.pbx.zones")
    assert "<[]string>  -required-" in text
    assert "at least 2 item(s)" in text and "at most 5 item(s)" in text
    root = explain("spec")
    for field in ("department", "pbx", "queues", "capacity", "failover"):
        assert f"  {field}\t<" in root
    assert resolve("spec.queues[0].priority")[0] == "spec.queues.priority"


def test_reference_is_current_and_lists_every_field():
    assert REFERENCE.read_text(encoding="utf-8") == reference_markdown(), (
        "docs/reference/samutenant.md is stale: run 'samuctl crd docs'"
    )
    assert main(["crd", "docs", "--check", "--path", str(REFERENCE)]) == 0
    text = REFERENCE.read_text(encoding="utf-8")
    for path, _, _ in walk():
        if not path.startswith("metadata"):
            assert f"| `{path.rsplit('.', 1)[-1]}` |" in text, path


def test_crd_docs_check_fails_on_a_stale_file(tmp_path):
    stale = tmp_path / "ref.md"
    stale.write_text("old\n")
    assert main(["crd", "docs", "--check", "--path", str(stale)]) == 1
    assert main(["crd", "docs", "--path", str(stale)]) == 0
    assert stale.read_text() == reference_markdown()


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.startswith("samuctl 0.")


def _complete(script: str, *words: str) -> list[str]:
    """Run the bash completion function for ``samuctl words...`` and return its proposals."""
    quoted = " ".join(f"'{w}'" for w in ("samuctl", *words))
    program = (
        f"{script}\nCOMP_WORDS=({quoted}); COMP_CWORD={len(words)}; _samuctl; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_bash_completion_knows_commands_verbs_and_flags(capsys):
    assert main(["completion", "bash"]) == 0
    script = capsys.readouterr().out
    commands = set(_complete(script, ""))
    assert {"tenant", "plan", "drill", "edge", "crd", "completion"} <= commands
    verbs = set(_complete(script, "tenant", ""))
    assert {"validate", "render", "status", "init", "explain"} <= verbs
    assert "--watch" in _complete(script, "tenant", "status", "--w")
    assert _complete(script, "plan", "--st") == ["--stack"]
    # Every command of the parser is offered: a new command needs no edit here.
    parser_commands = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    assert parser_commands <= commands


def test_zsh_completion_wraps_the_bash_one(capsys):
    assert main(["completion", "zsh"]) == 0
    script = capsys.readouterr().out
    assert script.startswith("#compdef samuctl") and "bashcompinit" in script
    assert "complete -F _samuctl samuctl" in script
