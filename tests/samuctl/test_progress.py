"""Progress of long commands: on a terminal only, never with -o json, cleared before the summary."""

import io

from samu_operator.sim import drill
from samuctl.progress import Progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_shows_on_a_terminal_and_clears_before_the_summary():
    tty = Terminal()
    with Progress.for_command("text", tty) as progress:
        progress.update("onboarding: 3/100 tenants have an active PBX")
    text = tty.getvalue()
    assert "\r\x1b[Konboarding: 3/100 tenants have an active PBX [0 s]" in text
    assert text.endswith("\r\x1b[K")


def test_progress_is_silent_with_json_or_without_a_terminal():
    for output, stream in (("json", Terminal()), ("text", io.StringIO())):
        with Progress.for_command(output, stream).ticker(0.01) as progress:
            progress.update("planning")
        assert stream.getvalue() == ""


def test_drill_progress_counts_without_rereading():
    elected = {"samu-01": True, "samu-02": False, "samu-03": False}
    reads: list[str] = []

    def has_active(name):
        reads.append(name)
        return elected[name]

    said: list[str] = []
    check = drill._counting(
        list(elected), has_active, said.append, "onboarding: {done}/{total} have an active PBX"
    )
    assert check() is False
    assert said == ["onboarding: 1/3 have an active PBX"]
    assert reads == ["samu-01", "samu-02"]  # stops at the first one not done, as all() would
    elected.update({"samu-02": True, "samu-03": True})
    reads.clear()
    assert check() is True
    assert said[-1] == "onboarding: 3/3 have an active PBX"
    assert reads[:2] == ["samu-02", "samu-03"]  # samu-01 is not read again before the final check
