"""A tiny in-memory tenant (pods, nodes, zones, labels, status, Service) driven by core only.

Used by the property test: it applies the planned writes one at a time and lets the test
check invariants after each single write, as the emulator history does in the e2e tests.
Health is judged here independently of core.failover, and which pods the active Service
selects independently of core.fencing (the label names, the selector a Service pointed at an
epoch carries, and the matching are this module's own, as the API server would apply them),
so a wrong core rule is caught rather than shared by the oracle.
"""

from dataclasses import dataclass, field

from samu_operator.core.failover import (
    Action,
    Decision,
    NodeFact,
    PodFact,
    Policy,
    Reason,
    State,
    World,
    decide,
)
from samu_operator.core.fencing import (
    LabelWrite,
    ServiceWrite,
    StatusWrite,
    Step,
    converge_plan,
    promotion_plan,
    switchover_settled,
)

# The contract, written out here rather than imported (docs/failover.md): the active Service
# selects the tenant's pod labelled role=active with the epoch the Service was pointed at.
TENANT = ("samu-platform.io/tenant", "samu-30")
ROLE_LABEL = "samu-platform.io/role"
EPOCH_LABEL = "samu-platform.io/epoch"
FENCED_AT_ANNOTATION = "samu-platform.io/fenced-at"


@dataclass
class Pod:
    name: str
    zone: str
    ready: bool = False
    labels: dict[str, str] = field(default_factory=lambda: {TENANT[0]: TENANT[1]})
    annotations: dict[str, str] = field(default_factory=dict)


@dataclass
class Promotion:
    at: float
    from_zone: str | None
    to_zone: str
    epoch_before: int
    epoch_after: int
    reason: Reason
    hard_signal: bool
    healthy_others: tuple[str, ...]


@dataclass
class Sim:
    zones: tuple[str, ...]
    min_interval: float
    now: float = 1000.0
    pods: dict[str, Pod] = field(default_factory=dict)
    node_up: dict[str, bool] = field(default_factory=dict)
    maintenance: set[str] = field(default_factory=set)
    active_zone: str | None = None
    epoch: int = 0
    last_move_at: float | None = None
    last_from_zone: str | None = None
    switchover_to: str | None = None
    service_epoch: int | None = None
    promotions: list[Promotion] = field(default_factory=list)
    max_selected: int = 0
    crashed: bool = False  # the last reconcile died mid-promotion (``crash_after``)
    generation: int = 0

    def __post_init__(self) -> None:
        for z in self.zones:
            self.node_up[z] = True
            self.recreate(z)

    # --- the world -------------------------------------------------------------------------
    def recreate(self, zone: str) -> None:
        self.generation += 1
        self.pods[zone] = Pod(f"pbx-{zone}-{self.generation}", zone)

    def healthy(self, zone: str) -> bool:
        """Independent of core: pod exists, ready, node up, zone not in maintenance."""
        pod = self.pods.get(zone)
        return pod is not None and pod.ready and self.node_up[zone] and zone not in self.maintenance

    def selected(self) -> list[str]:
        """The pods the active Service selects, as the API server matches a selector."""
        if self.service_epoch is None:
            return []
        selector = {
            TENANT[0]: TENANT[1],
            ROLE_LABEL: "active",
            EPOCH_LABEL: str(self.service_epoch),
        }
        return [
            p.name
            for p in self.pods.values()
            if all(key in p.labels and p.labels[key] == value for key, value in selector.items())
        ]

    def check(self) -> None:
        """The safety invariants, after every single write."""
        sel = self.selected()
        self.max_selected = max(self.max_selected, len(sel))
        assert len(sel) <= 1, f"two pods selected as active: {sel}"
        current = [
            p.name
            for p in self.pods.values()
            if p.labels.get(ROLE_LABEL) == "active" and p.labels.get(EPOCH_LABEL) == str(self.epoch)
        ]
        assert len(current) <= 1, f"two pods carry the current epoch as active: {current}"

    # --- the operator ----------------------------------------------------------------------
    def facts(self) -> World:
        pods = tuple(
            PodFact(
                p.name,
                p.zone,
                p.ready,
                node=f"node-{p.zone}",
                role=p.labels.get(ROLE_LABEL),
                epoch=int(p.labels[EPOCH_LABEL]) if EPOCH_LABEL in p.labels else None,
            )
            for p in self.pods.values()
        )
        nodes = tuple(NodeFact(f"node-{z}", z, self.node_up[z]) for z in self.zones)
        return World(pods, nodes, frozenset(self.maintenance))

    def state(self) -> State:
        return State(
            self.active_zone, self.epoch, self.last_move_at, self.last_from_zone, self.switchover_to
        )

    def apply(self, step: Step) -> None:
        if isinstance(step, LabelWrite):
            pod = next((p for p in self.pods.values() if p.name == step.pod), None)
            if pod is None:
                return  # the pod went away meanwhile: a patch would 404, nothing changes
            for key, value in step.labels:
                if value is None:
                    pod.labels.pop(key, None)
                else:
                    pod.labels[key] = value
            for key, value in step.annotations:
                if value is None:
                    pod.annotations.pop(key, None)
                else:
                    pod.annotations[key] = value
        elif isinstance(step, StatusWrite):
            assert step.epoch > self.epoch, "epoch must strictly increase on promotion"
            if step.active_zone != self.active_zone and self.active_zone is not None:
                self.last_move_at = self.now
                self.last_from_zone = self.active_zone
            self.active_zone = step.active_zone
            self.epoch = step.epoch
        elif isinstance(step, ServiceWrite):
            self.service_epoch = step.epoch
        self.check()

    def reconcile(self, crash_after: int | None = None) -> Decision:
        self.crashed = False
        policy = Policy(self.zones, self.min_interval)
        state = self.state()
        world = self.facts()
        decision = decide(policy, state, world, self.now)
        steps: list[Step] = []
        if decision.action == Action.PROMOTE:
            self._record(decision, state)
            steps = promotion_plan(state, world, decision, self.now)
        for i, step in enumerate(steps):
            if crash_after is not None and i >= crash_after:
                if self.epoch == state.epoch:
                    self.promotions.pop()  # died before its commit: no promotion happened
                self.crashed = True
                return decision  # the operator died mid-promotion
            self.apply(step)
        if switchover_settled(state, decision):
            self.switchover_to = None
        world = self.facts()
        fenced_at = {
            p.name: float(p.annotations[FENCED_AT_ANNOTATION])
            for p in self.pods.values()
            if FENCED_AT_ANNOTATION in p.annotations
        }
        for step in converge_plan(
            policy, self.state(), world, self.service_epoch, self.now, fenced_at
        ):
            self.apply(step)
        return decision

    def _record(self, decision: Decision, state: State) -> None:
        assert decision.to_zone is not None
        assert self.healthy(decision.to_zone), f"promotion into an unhealthy PBX: {decision}"
        active = self.pods.get(state.active_zone) if state.active_zone else None
        hard = (
            state.active_zone is None
            or active is None
            or not self.node_up[state.active_zone]
            or state.active_zone in self.maintenance
            or active.labels.get(EPOCH_LABEL) != str(state.epoch)
        )
        others = tuple(
            z
            for z in self.zones
            if z not in (state.active_zone, state.last_from_zone) and self.healthy(z)
        )
        self.promotions.append(
            Promotion(
                self.now,
                state.active_zone,
                decision.to_zone,
                state.epoch,
                state.epoch + 1,
                decision.reason,
                hard,
                others,
            )
        )
