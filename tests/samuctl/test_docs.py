"""The README and docs/ read for someone who has only the repository: every link resolves,
every benchmark figure names the command that produced it, no work history."""

import re

import pytest

from tests.conftest import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
LINK = re.compile(r"\]\(([^)#\s]+)(#[^)]*)?\)")


@pytest.mark.parametrize("page", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_links_resolve_inside_the_repository(page):
    prose = re.sub(r"`[^`]*`", "", page.read_text(encoding="utf-8"))  # not in code spans
    for target, _ in LINK.findall(prose):
        if re.match(r"^[a-z]+://", target):
            continue
        assert (page.parent / target).exists(), f"{page.name} links to a missing {target}"


@pytest.mark.parametrize("page", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_no_work_history_and_no_file_outside_the_clone(page):
    text = page.read_text(encoding="utf-8")
    for pattern in (r"\bissue \d+", r"\bsession \d+", r"\.\./shared", r"DESIGN\.md"):
        assert not re.search(pattern, text, re.IGNORECASE), f"{page.name}: {pattern}"


def test_benchmark_figures_are_one_table_with_their_commands():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Benchmarks", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[0].startswith("| what | figure | command |")
    for row in rows[1:]:
        command = row.rstrip(" |").rsplit("|", 1)[1]
        assert "`" in command, f"no command for: {row}"
        for script in re.findall(r"tests/benchmarks/\w+\.py", command):
            assert (REPO / script).exists(), script
    # One table: no other figures section elsewhere in the README.
    assert readme.count("| what | figure | command |") == 1


def test_readme_starts_with_the_two_commands():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    first_block = readme.split("```sh", 1)[1].split("```", 1)[0]
    assert "make run" in first_block and "make test" in first_block
    for section in (
        "## Onboard",
        "## Operate",
        "## Upgrade",
        "## Troubleshoot",
        "## Further reading",
    ):
        assert section in readme
