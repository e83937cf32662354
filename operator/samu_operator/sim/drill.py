"""The zone-loss drill on the embedded default: emulator + simulated kubelet + the real operator.

``samuctl drill`` calls :func:`run_drill`: it onboards N tenants over the zones (their
preferred zones rotated, so the actives are spread), waits until each has elected an active
PBX, kills one zone (every node NotReady with the unreachable taint; the pods keep saying
Ready, as a partitioned zone's would), and measures per affected tenant the time from the
kill to the moment its new active is *selected* (status, pod labels and Service agree).
The double-active count replays the emulator's full object history (``audit.py``).

Everything runs in this process: the emulator and kubelet in the caller's asyncio loop, Kopf
in its own thread and loop (as in production, the operator's loop is never the server's).
"""

import asyncio
import contextlib
import logging
import os
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from samu_operator import kube
from samu_operator.core import labels
from samu_operator.core.desired import ACTIVE_SERVICE, pbx_name
from samu_operator.handlers.settings import WATCH_INACTIVITY_ENV
from samu_operator.model.departments import DEPARTMENTS
from samu_operator.model.tenant import API_GROUP, API_VERSION, PLURAL, tenant_name_for
from samu_operator.sim.audit import double_actives
from samu_operator.sim.faults import Faults

TENANTS = f"{API_GROUP}/{API_VERSION}/{PLURAL}"
MAX_TENANTS = len(DEPARTMENTS)


@dataclass
class DrillReport:
    tenants: int
    zones: list[str]
    killed_zone: str
    affected: int
    failed_over: int
    not_failed_over: list[str]
    percentiles: dict[str, float]  # p50, p95, p99, max (seconds, kill -> new active selected)
    operator_percentiles: dict[str, float]  # lastFailover.seconds: signal seen -> epoch committed
    without_standby: int
    double_active: int
    onboarding_seconds: float
    seconds: list[float] = field(default_factory=list)
    chaos: float = 0.0  # share of the API requests given a fault (sim.faults)
    faults: dict[str, int] = field(default_factory=dict)  # injected, by kind

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("seconds")
        return out

    def text(self) -> str:
        p = self.percentiles
        lines = [
            f"drill: {self.tenants} tenants over zones {','.join(self.zones)}, "
            f"zone {self.killed_zone} killed",
            f"onboarding: all tenants with an elected active PBX in {self.onboarding_seconds:.1f} s",
            f"tenants whose active PBX was in zone {self.killed_zone}: {self.affected}, "
            f"failed over: {self.failed_over}"
            + (f" (NOT: {', '.join(self.not_failed_over)})" if self.not_failed_over else ""),
            "failover time, zone killed -> new active selected: "
            + ", ".join(f"{k} {v:.3f} s" for k, v in p.items()),
            "  of which the operator's own part (lastFailover.seconds, signal received -> "
            "epoch committed): "
            + ", ".join(f"{k} {v:.3f} s" for k, v in self.operator_percentiles.items()),
            f"tenants without a standby after the failover: {self.without_standby}",
            f"double-active (full object history): {self.double_active}",
        ]
        if self.chaos:
            injected = ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items()))
            lines.append(f"API faults at {self.chaos:g} of requests: {injected or 'none'}")
        return "\n".join(lines)

    @property
    def ok(self) -> bool:
        return not self.not_failed_over and self.double_active == 0


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0-100); 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def tenant_doc(department: str, zones: list[str], index: int) -> dict[str, Any]:
    """A small valid SamuTenant; the zone order is rotated per tenant to spread the actives."""
    order = zones[index % len(zones) :] + zones[: index % len(zones)]
    return {
        "apiVersion": f"{API_GROUP}/{API_VERSION}",
        "kind": "SamuTenant",
        "metadata": {"name": tenant_name_for(department)},
        "spec": {
            "department": department,
            "displayName": f"SAMU {department} (drill)",
            "pbx": {"image": "registry.samu-platform.io/pbx/asterisk:20.10.0", "zones": zones},
            "queues": [
                {"name": "vital-distress", "priority": 0, "maxWaitSeconds": 10},
                {"name": "general", "priority": 5, "maxWaitSeconds": 60},
            ],
            "capacity": {"agents": 10, "maxConcurrentCalls": 30},
            "failover": {"detectionSeconds": 2, "preferredZones": order},
        },
    }


class OperatorInThread:
    """The real operator (every handler of samu_operator.handlers) in its own thread + loop."""

    def __init__(
        self,
        url: str,
        *,
        priority: int | None = None,
        peering: str | None = None,
        replica: str = "",
    ) -> None:
        self.url, self.priority, self.peering, self.replica = url, priority, peering, replica
        self.stop_flag = threading.Event()
        self.ready_flag = threading.Event()
        self.thread: threading.Thread | None = None
        self._server_env: str | None = None

    def start(self) -> None:
        import kopf

        import samu_operator.handlers  # noqa: F401  (registers the handlers)

        self._server_env = os.environ.get(kube.SERVER_ENV)
        os.environ[kube.SERVER_ENV] = self.url
        kube.reset_shared()

        def main() -> None:
            with contextlib.suppress(asyncio.CancelledError):
                asyncio.run(
                    kopf.operator(
                        clusterwide=True,
                        standalone=self.peering is None,
                        peering_name=self.peering,
                        priority=self.priority,
                        stop_flag=self.stop_flag,
                        ready_flag=self.ready_flag,
                        memo=kopf.Memo(replica=self.replica),
                    )
                )

        self.thread = threading.Thread(target=main, name="samu-operator", daemon=True)
        self.thread.start()

    async def stop(self) -> None:
        self.stop_flag.set()
        if self.thread is not None:
            await asyncio.to_thread(self.thread.join, 30)
        if self._server_env in (
            None,
            self.url,
        ):  # the emulator is going: no one else is pointed at it
            os.environ.pop(kube.SERVER_ENV, None)
        else:
            os.environ[kube.SERVER_ENV] = self._server_env


def _selected(emulator: Any, tenant: str) -> tuple[str | None, int]:
    """(zone of the pod the active Service selects, status epoch) as the API has them now."""
    body = emulator.read(TENANTS, None, tenant) or {}
    st = body.get("status") or {}
    epoch = int(st.get("epoch") or 0)
    svc = emulator.read("v1/services", tenant, ACTIVE_SERVICE) or {}
    selector = (svc.get("spec") or {}).get("selector") or {}
    zone = st.get("activeZone")
    if not epoch or zone is None or selector.get(labels.EPOCH) != str(epoch):
        return None, epoch
    # Direct reads by name (pbx-<zone>-0): scanning every object on each poll would starve
    # the operator of CPU and falsify the very timings measured here.
    pod = emulator.read("v1/pods", tenant, f"{pbx_name(zone)}-0") or {}
    pod_labels = (pod.get("metadata") or {}).get("labels") or {}
    selected = all(pod_labels.get(k) == v for k, v in selector.items())
    return (zone if selected else None), epoch


async def _wait(predicate: Any, timeout: float, poll: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(poll)
    return bool(predicate())


async def run_drill(
    tenants: int = 100,
    zones: tuple[str, ...] = ("a", "b", "c"),
    kill_zone: str | None = None,
    timeout: float = 120.0,
    settle: float = 3.0,
    progress: Callable[[str], None] | None = None,
    inspect: Callable[[str], Any] | None = None,
    chaos: float = 0.0,
    seed: int | None = None,
) -> DrillReport:
    """Onboard, kill a zone, measure; see the module docstring. ``progress`` receives a
    line on each step and each change of how far it got (for a person watching);
    ``inspect`` is called with the emulator's URL after the failover, before it stops
    (``samuctl drill --status`` reads the tenants' status there, as from a cluster).
    ``chaos``: that share of the API requests meets a fault, of every kind ``sim.faults``
    injects, from the first tenant on (``seed`` makes the draws repeatable)."""
    say = progress or (lambda _text: None)
    from samu_operator.sim import kmock_speedup
    from samu_operator.sim.kubelet import EmulatedCluster

    kmock_speedup.install()

    if not 1 <= tenants <= MAX_TENANTS:
        raise ValueError(f"--tenants {tenants}: choose 1 to {MAX_TENANTS} (one per département)")
    if len(zones) < 2 or len(set(zones)) != len(zones):
        raise ValueError(f"--zones {','.join(zones)}: give two distinct zones at least")
    kill = kill_zone or zones[0]
    if kill not in zones:
        raise ValueError(f"--kill-zone {kill}: not one of --zones {','.join(zones)}")
    os.environ.setdefault("SAMU_OPERATOR_METRICS_PORT", "0")
    faults = Faults(rate=chaos, seed=seed)
    inactivity = os.environ.get(WATCH_INACTIVITY_ENV)
    if chaos:
        # Silent watches are part of the chaos: bookmarks every half second from the
        # emulator, and the operator takes a stream quiet for 2 s for dead.
        os.environ[WATCH_INACTIVITY_ENV] = "2"
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # Shutdown chatter (and, under chaos, Kopf's retries of injected faults): not results.
    logging.getLogger("kopf").setLevel(logging.CRITICAL if chaos else logging.ERROR)
    departments = sorted(DEPARTMENTS, key=lambda d: (len(d), d))[:tenants]
    names = [tenant_name_for(d) for d in departments]
    async with EmulatedCluster(zones=zones) as cluster:
        cluster.emulator.faults = faults
        cluster.emulator.bookmark_seconds = 0.5 if chaos else None
        op = OperatorInThread(cluster.url)
        op.start()
        try:
            started = time.monotonic()
            for i, dep in enumerate(departments):
                await cluster.emulator.put(TENANTS, tenant_doc(dep, list(zones), i))
            emulator = cluster.emulator
            say(f"onboarding {tenants} tenants over zones {','.join(zones)}")
            has_active = lambda n: bool(_selected(emulator, n)[0])  # noqa: E731
            counting = _counting(
                names, has_active, say, "onboarding: {done}/{total} tenants have an active PBX"
            )
            elected = await _wait(counting, timeout, poll=0.05)
            onboarding = time.monotonic() - started
            if not elected:
                missing = [n for n in names if not _selected(emulator, n)[0]]
                raise RuntimeError(f"no active PBX elected within {timeout}s for {missing}")
            # A zone fails in steady state, not in the middle of onboarding: wait until every
            # tenant reports Ready, then a little more for the last writes to settle.
            # (Bounded: the onboarding part's phase may lag behind by one of its re-checks.)
            ready = _counting(
                names,
                lambda n: _phase(emulator, n) == "Ready",
                say,
                "steady state: {done}/{total} tenants report Ready",
            )
            await _wait(ready, min(timeout, 20.0), 0.1)
            say("waiting for the API server to settle (steady state before the kill)")
            await _quiet(emulator, settle, timeout)
            # Every pod exists now: the simulated StatefulSet controller's full scan every
            # 50 ms would only compete for the CPU the API server and operator need.
            cluster.kubelet.poll = 1.0
            before = {n: _selected(emulator, n) for n in names}
            affected = [n for n, (zone, _) in before.items() if zone == kill]
            say(f"zone {kill} killed: 0/{len(affected)} tenants failed over")
            t0 = time.monotonic()
            await cluster.kubelet.fail_zone(kill, pods_unready=False)
            done: dict[str, float] = {}

            def failed_over() -> bool:
                now = time.monotonic()
                count = len(done)
                for n in affected:
                    if n not in done:
                        zone, epoch = _selected(emulator, n)
                        if zone and zone != kill and epoch > before[n][1]:
                            done[n] = now - t0
                if len(done) != count:
                    say(f"zone {kill} killed: {len(done)}/{len(affected)} tenants failed over")
                return len(done) == len(affected)

            await _wait(failed_over, timeout)
            say("checking the full object history for double actives")
            await asyncio.sleep(0.5)  # let converging writes land before the audit
            without = sum(1 for n in names if _standbys(emulator, n, kill) == 0)
            own = [
                float(
                    ((emulator.read(TENANTS, None, n) or {}).get("status") or {})
                    .get("lastFailover", {})
                    .get("seconds", 0.0)
                )
                for n in done
            ]
            violations = double_actives(emulator)
            if inspect is not None:
                # Blocking HTTP against the emulator: from a thread, so the loop serves it.
                await asyncio.to_thread(inspect, cluster.url)
        finally:
            await op.stop()
            if inactivity is None:
                os.environ.pop(WATCH_INACTIVITY_ENV, None)
            else:
                os.environ[WATCH_INACTIVITY_ENV] = inactivity
    seconds = [done[n] for n in affected if n in done]
    pct = {
        "p50": percentile(seconds, 50),
        "p95": percentile(seconds, 95),
        "p99": percentile(seconds, 99),
        "max": max(seconds, default=0.0),
    }
    if seconds:
        pct["mean"] = statistics.fmean(seconds)
    return DrillReport(
        tenants=tenants,
        zones=list(zones),
        killed_zone=kill,
        affected=len(affected),
        failed_over=len(seconds),
        not_failed_over=[n for n in affected if n not in done],
        percentiles=pct,
        operator_percentiles={
            "p50": percentile(own, 50),
            "p99": percentile(own, 99),
            "max": max(own, default=0.0),
        },
        without_standby=without,
        double_active=len(violations),
        onboarding_seconds=onboarding,
        seconds=seconds,
        chaos=chaos,
        faults=dict(faults.counts),
    )


def _counting(
    names: list[str], done: Callable[[str], bool], say: Callable[[str], None], what: str
) -> Callable[[], bool]:
    """Predicate "``done`` holds for every tenant" that says how many it holds for
    (``what`` is a format with ``{done}`` and ``{total}``).

    Checks in order and stops at the first tenant not done yet, as ``all()`` would (the
    drill's timing must not pay for the count); the done ones are not read again until
    the final check.
    """
    finished: set[str] = set()

    def check() -> bool:
        before = len(finished)
        for n in names:
            if n in finished:
                continue
            if not done(n):
                break
            finished.add(n)
        if len(finished) != before:
            say(what.format(done=len(finished), total=len(names)))
        if len(finished) < len(names):
            return False
        return all(done(n) for n in names)

    return check


async def _quiet(emulator: Any, settle: float, timeout: float) -> None:
    """Until the API server has seen fewer than 2 requests per tenant-second for ``settle``
    seconds (the onboarding's last status writes), at most ``timeout``: steady state."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = len(emulator._requests)
        await asyncio.sleep(settle)
        if len(emulator._requests) - before < 20 * settle:
            return


def _phase(emulator: Any, tenant: str) -> str | None:
    return ((emulator.read(TENANTS, None, tenant) or {}).get("status") or {}).get("phase")


def _standbys(emulator: Any, tenant: str, dead_zone: str) -> int:
    """Ready PBX outside the active and the dead zone: what survives the next failure."""
    st = (emulator.read(TENANTS, None, tenant) or {}).get("status") or {}
    count = 0
    for pod in emulator.objects_of("v1/pods", tenant):
        zone = (pod["metadata"].get("labels") or {}).get(labels.ZONE)
        conds = (pod.get("status") or {}).get("conditions") or []
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)
        if ready and zone not in (st.get("activeZone"), dead_zone):
            count += 1
    return count
