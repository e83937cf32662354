"""The SamuTenant custom resource: one per call centre (one SAMU per département).

The spec is what a platform engineer declares; the status is what the operator reports.
The CRD in helm/samu-operator/crds/ is generated from these classes (``samuctl crd generate``).
"""

from enum import StrEnum
from typing import Literal

from pydantic import Field, field_validator, model_validator

from samu_operator.model.base import CrdModel, CrossFieldErrors
from samu_operator.model.base import duplicates as _duplicates
from samu_operator.model.base import unique as _unique
from samu_operator.model.routing import Fallback, RoutingSpec, chain, spec_errors
from samu_operator.model.types import (
    Cidr,
    CpuQuantity,
    Department,
    Digit,
    DnsLabel,
    FreeText,
    ImageRef,
    MemoryQuantity,
    PhoneNumber,
    PromptName,
    TenantName,
    ZoneName,
)

API_GROUP = "samu-platform.io"
API_VERSION = "v1alpha1"
KIND = "SamuTenant"
PLURAL = "samutenants"


def tenant_name_for(department: str) -> str:
    """The one valid resource name of a département's tenant: 'samu-' + lower-case code.

    Deriving the name from the département lets the API server itself refuse a second
    tenant for the same département (names are unique in a cluster-scoped kind).
    """
    return f"samu-{department.lower()}"


class PbxResources(CrdModel):
    """Requests equal limits (Guaranteed QoS): a PBX must never be throttled or evicted first."""

    cpu: CpuQuantity = "2"
    memory: MemoryQuantity = "4Gi"


class PbxSpec(CrdModel):
    """The PBX (Asterisk) of the tenant: one per zone, one active, the others standby."""

    image: ImageRef = Field(description="PBX image, pinned by tag or digest")
    zones: list[ZoneName] = Field(
        min_length=2,
        max_length=5,
        description="zones with one PBX each; two at least so that a standby always exists",
    )
    resources: PbxResources = PbxResources()
    sidecar_image: ImageRef = Field(
        default="registry.samu-platform.io/samu/samu-operator:0.1.0",
        description="the platform's own image, pinned, for the PBX pod's sidecars (the "
        "recording shipper, the abandoned-call reader)",
    )

    @field_validator("zones")
    @classmethod
    def _unique_zones(cls, zones: list[str]) -> list[str]:
        return _unique(zones, "zone", "list each zone once")


class IvrSpec(CrdModel):
    """The SVI (IVR) that greets every caller before the queues."""

    vital_distress_digit: Digit = Field(
        default="1", description="digit that sends the caller to the highest-priority queue"
    )
    greeting: FreeText = Field(
        default="SAMU, centre 15. Si la vie est en danger, tapez 1.",
        min_length=1,
        max_length=500,
        description="transcript of the greeting prompt (kept as a comment in the dialplan)",
    )
    greeting_prompt: PromptName = Field(
        default="samu/greeting",
        max_length=100,
        description="the prompt the IVR plays: a French sound of the PBX image, no extension "
        "(the image's default 'samu/greeting' speaks the default transcript)",
    )


class QueueSpec(CrdModel):
    """One call queue of the bandeau; the lowest priority number is served first."""

    name: DnsLabel = Field(description="queue name, e.g. vital-distress (a DNS label)")
    priority: int = Field(ge=0, le=9, description="0 is served first (vital distress)")
    max_wait_seconds: int = Field(
        default=60, ge=5, le=600, description="after this wait the call overflows"
    )


class RecordingSpec(CrdModel):
    """Every call is recorded from its first second; this says how long and in how many copies."""

    retention_days: int = Field(
        default=365, ge=30, le=3650, description="days a recording is kept before deletion"
    )
    replicas: int = Field(
        default=2, ge=2, le=3, description="copies in distinct zones; one copy is never enough"
    )
    delete_with_tenant: bool = Field(
        default=False, description="delete recordings when the tenant is deleted (never by default)"
    )


class OverflowSpec(CrdModel):
    """Débordement: where 15 calls go when this SAMU is saturated, down or does not answer."""

    partner: TenantName = Field(description="SamuTenant that takes the calls when this one cannot")
    after_seconds: int = Field(
        default=30, ge=5, le=300, description="ringing time before a call overflows to the partner"
    )


class CapacitySpec(CrdModel):
    """Size of the centre: sets the PBX's quota and when calls overflow for capacity."""

    agents: int = Field(ge=1, le=1000, description="ARM seats")
    max_concurrent_calls: int = Field(
        ge=1,
        le=10000,
        description="calls the PBX holds at once (answered and waiting); beyond it, overflow",
    )

    @model_validator(mode="after")
    def _calls_cover_agents(self) -> "CapacitySpec":
        if self.max_concurrent_calls < self.agents:
            raise CrossFieldErrors(
                [
                    (
                        ("maxConcurrentCalls",),
                        f"{self.max_concurrent_calls} is fewer than the {self.agents} agents: "
                        "set maxConcurrentCalls to at least capacity.agents",
                    )
                ]
            )
        return self


class FailoverSpec(CrdModel):
    """How the operator moves the active PBX to another zone when its zone or pod fails."""

    detection_seconds: int = Field(
        default=2, ge=1, le=30, description="how long a PBX may be silent before it counts as dead"
    )
    preferred_zones: list[ZoneName] = Field(
        default_factory=list,
        max_length=5,
        description="promotion order; empty means the order of pbx.zones",
    )

    @field_validator("preferred_zones")
    @classmethod
    def _unique_zones(cls, zones: list[str]) -> list[str]:
        return _unique(zones, "zone", "list each zone once")

    min_interval_seconds: int = Field(
        default=30, ge=0, le=3600, description="anti-flapping: least time between promotions"
    )


class PositionSpec(CrdModel):
    """An answering position (a seat of the bandeau, where an ARM logs in): one SIP account."""

    name: DnsLabel = Field(description="the position's name, e.g. 'arm-01'")
    queues: list[DnsLabel] = Field(
        default_factory=list,
        max_length=20,
        description="the queues this position answers; empty means every queue",
    )


class SamuTenantSpec(CrdModel):
    """What the platform engineer declares for one SAMU-Centre 15."""

    department: Department
    display_name: FreeText = Field(
        min_length=1, max_length=100, description="name shown to people, e.g. 'SAMU 30 - Nîmes'"
    )
    numbers: list[PhoneNumber] = Field(
        default_factory=list, max_length=50, description="inbound numbers besides 15"
    )
    pbx: PbxSpec
    ivr: IvrSpec = IvrSpec()
    queues: list[QueueSpec] = Field(
        min_length=1, max_length=20, description="call queues, each with its own priority"
    )
    recording: RecordingSpec = RecordingSpec()
    overflow: OverflowSpec | None = None
    capacity: CapacitySpec
    failover: FailoverSpec = FailoverSpec()
    positions: list[PositionSpec] = Field(
        default_factory=list,
        max_length=1000,
        description="answering positions; empty means capacity.agents positions arm-01... "
        "answering every queue",
    )
    site_ranges: list[Cidr] = Field(
        default_factory=list,
        max_length=50,
        description="the centre's site networks: the only sources its positions may "
        "register from at the SIP edge (none: no position can register)",
    )
    routing: RoutingSpec = Field(
        default_factory=RoutingSpec,
        description="where the SIP edge sends new calls (this tenant's PBX or the centre's "
        "old platform), what it tries next, and the secours numbers of last resort",
    )

    @field_validator("numbers")
    @classmethod
    def _unique_numbers(cls, numbers: list[str]) -> list[str]:
        return _unique(numbers, "number", "list each number once")

    @field_validator("queues")
    @classmethod
    def _unique_queues(cls, queues: list[QueueSpec]) -> list[QueueSpec]:
        errors = _duplicates([q.name for q in queues], "queue name", "give queues distinct names")
        errors += _duplicates(
            [q.priority for q in queues],
            "queue priority",
            "give each queue its own priority",
            field="priority",
        )
        if errors:
            raise CrossFieldErrors(errors)
        return queues

    @model_validator(mode="after")
    def _consistent(self) -> "SamuTenantSpec":
        errors: list[tuple[tuple[str | int, ...], str]] = []
        for i, zone in enumerate(self.failover.preferred_zones):
            if zone not in self.pbx.zones:
                errors.append(
                    (
                        ("failover", "preferredZones", i),
                        f"zone {zone!r} has no PBX: use one of pbx.zones {self.pbx.zones}",
                    )
                )
        errors += _position_errors(self.positions, {q.name for q in self.queues})
        if self.overflow and self.overflow.partner == tenant_name_for(self.department):
            errors.append(
                (
                    ("overflow", "partner"),
                    f"{self.overflow.partner!r} is this tenant itself: name another SAMU",
                )
            )
        errors += [
            (("routing", *where), msg)
            for where, msg in spec_errors(
                self.routing, self.overflow.partner if self.overflow else None, self.numbers
            )
        ]
        if errors:
            raise CrossFieldErrors(errors)
        return self

    @property
    def routing_chain(self) -> tuple[Fallback, ...]:
        """What the edge tries for a new call, in order (model/routing.py)."""
        return chain(self.routing, self.overflow is not None)

    @property
    def zone_order(self) -> list[str]:
        """Promotion order: preferredZones first, then the other PBX zones as declared."""
        preferred = list(self.failover.preferred_zones)
        return preferred + [z for z in self.pbx.zones if z not in preferred]

    @property
    def vital_queue(self) -> QueueSpec:
        """The queue the vital-distress digit leads to: the one served first."""
        return min(self.queues, key=lambda q: q.priority)


def _position_errors(
    positions: list[PositionSpec], queues: set[str]
) -> list[tuple[tuple[str | int, ...], str]]:
    errors = [
        (("positions", *where), msg)
        for where, msg in _duplicates(
            [p.name for p in positions], "position name", "give positions distinct names"
        )
    ]
    for i, position in enumerate(positions):
        for j, queue in enumerate(position.queues):
            if queue not in queues:
                errors.append(
                    (
                        ("positions", i, "queues", j),
                        f"queue {queue!r} does not exist: use one of {sorted(queues)}",
                    )
                )
    return errors


class Phase(StrEnum):
    PENDING = "Pending"
    READY = "Ready"
    DEGRADED = "Degraded"
    FAILING_OVER = "FailingOver"
    FAILED = "Failed"


class PbxRole(StrEnum):
    ACTIVE = "active"
    STANDBY = "standby"
    FENCED = "fenced"
    DOWN = "down"


class PbxStatus(CrdModel):
    """One PBX as the operator last saw it."""

    zone: str = Field(description="zone of this PBX")
    pod: str | None = Field(default=None, description="its pod, when it exists")
    role: PbxRole = Field(description="active (takes the calls), standby, fenced or down")
    ready: bool = Field(default=False, description="its pod reports Ready")


class FailoverRecord(CrdModel):
    """The last promotion of a PBX in another zone."""

    from_zone: str | None = Field(default=None, alias="from", description="zone left")
    to: str = Field(description="zone of the new active PBX")
    at: str = Field(description="RFC 3339 time of the promotion")
    seconds: float = Field(ge=0, description="from the signal to the new active")
    reason: str = Field(description="the signal, e.g. NodeNotReady, PodNotReady, ZoneDown")


class Condition(CrdModel):
    """A Kubernetes-style condition: Ready, Reconciled."""

    type: str = Field(description="Ready or Reconciled")
    status: Literal["True", "False", "Unknown"] = Field(description="True, False or Unknown")
    reason: str = Field(default="", description="one CamelCase word for the cause")
    message: str = Field(default="", description="the cause, for people")
    last_transition_time: str | None = Field(
        default=None, description="RFC 3339 time the status last changed"
    )


class SamuTenantStatus(CrdModel):
    """Written by the operator only. Unknown keys are kept: Kopf stores its own state here."""

    model_config = CrdModel.model_config | {"extra": "allow"}

    phase: Phase = Field(
        default=Phase.PENDING, description="Pending, Ready, Degraded, FailingOver or Failed"
    )
    active_zone: str | None = Field(default=None, description="zone of the active PBX")
    epoch: int = Field(default=0, ge=0, description="fencing token: bumps on every promotion")
    pbx: list[PbxStatus] = Field(default_factory=list, description="every PBX, one per zone")
    last_failover: FailoverRecord | None = Field(
        default=None, description="the last promotion, if any"
    )
    conditions: list[Condition] = Field(default_factory=list, description="Ready, Reconciled")
    observed_generation: int | None = Field(
        default=None, description="the spec generation the status describes"
    )
    message: str = Field(default="", description="why the tenant is not Ready, for people")


class Metadata(CrdModel):
    model_config = CrdModel.model_config | {"extra": "allow"}

    name: TenantName


class SamuTenant(CrdModel):
    """The whole resource as a user writes it (kubectl apply) or the API server returns it."""

    model_config = CrdModel.model_config | {"extra": "allow"}

    api_version: Literal["samu-platform.io/v1alpha1"] = Field(
        default="samu-platform.io/v1alpha1", alias="apiVersion"
    )
    kind: Literal["SamuTenant"] = "SamuTenant"
    metadata: Metadata
    spec: SamuTenantSpec
    status: SamuTenantStatus | None = None

    @model_validator(mode="after")
    def _name_matches_department(self) -> "SamuTenant":
        expected = tenant_name_for(self.spec.department)
        if self.metadata.name != expected:
            raise CrossFieldErrors(
                [
                    (
                        ("metadata", "name"),
                        f"{self.metadata.name!r} does not match spec.department "
                        f"{self.spec.department!r}: name this tenant {expected!r}",
                    )
                ]
            )
        return self

    @property
    def name(self) -> str:
        return self.metadata.name
