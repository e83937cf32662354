"""A CPU cap for one process tree, so that a benchmark measures that program and not its load
generator.

On this 2-core machine SIPp (caller and PBX stand-ins) saturates the cores before Kamailio
does, so an uncapped "highest call rate" measures SIPp and the neighbours. Capping Kamailio
to a fraction of one core (a Linux cgroup CPU quota) makes Kamailio the bottleneck while SIPp
keeps the rest. Hand-written: the standard library has no cgroup API, and the cgroup
filesystem is two files to write (v2 ``cpu.max``, or v1 ``cpu.cfs_quota_us``/``cfs_period_us``).
"""

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
#: A short period keeps the throttling stalls short (at most period - quota): SIP timers are
#: in hundreds of milliseconds, a 10 ms period never shows as a retransmission.
PERIOD_US = 10_000


@dataclass
class CpuCap:
    """A cgroup limited to ``share`` of one CPU. ``wrap(cmd)`` runs ``cmd`` inside it (the
    shell writes its own pid into the group, then execs the program, whose children inherit
    the group)."""

    name: str
    share: float
    directory: Path | None = None

    def create(self) -> "CpuCap":
        quota = max(1000, int(PERIOD_US * self.share))
        v2 = CGROUP_ROOT / "cgroup.controllers"
        if v2.exists() and "cpu" in v2.read_text().split():
            directory = CGROUP_ROOT / self.name
            directory.mkdir(exist_ok=True)
            (directory / "cpu.max").write_text(f"{quota} {PERIOD_US}\n")
        else:
            directory = CGROUP_ROOT / "cpu" / self.name
            directory.mkdir(exist_ok=True)
            (directory / "cpu.cfs_period_us").write_text(f"{PERIOD_US}\n")
            (directory / "cpu.cfs_quota_us").write_text(f"{quota}\n")
        self.directory = directory
        return self

    def wrap(self, cmd: list[str]) -> list[str]:
        assert self.directory is not None, "create() first"
        procs = self.directory / "cgroup.procs"
        return ["sh", "-c", 'echo $$ > "$0" && exec "$@"', str(procs), *cmd]

    def throttled(self) -> tuple[int, int]:
        """(periods, periods in which the group used its whole quota) so far: a rate step
        whose periods were mostly throttled was limited by the cap, i.e. by the program."""
        if self.directory is None:
            return 0, 0
        stat = dict(line.split() for line in (self.directory / "cpu.stat").read_text().splitlines())
        return int(stat.get("nr_periods", 0)), int(stat.get("nr_throttled", 0))

    def remove(self) -> None:
        if self.directory is not None:
            # a process may still be inside (being stopped): the name is unique anyway
            with contextlib.suppress(OSError):
                self.directory.rmdir()
            self.directory = None


def cpu_cap(label: str, share: float) -> tuple[CpuCap | None, str]:
    """A created cap, or None and why not (not root, no cgroup filesystem, read-only)."""
    cap = CpuCap(f"samu-bench-{label}-{os.getpid()}", share)
    try:
        return cap.create(), ""
    except OSError as exc:
        return None, f"no CPU cap ({exc.strerror or exc}): cgroup filesystem not writable here"
