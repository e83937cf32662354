"""What the SamuTenant model must refuse: each malformed input names its field and the fix."""

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from samu_operator.model import TenantInvalid, tenant_errors, validate_tenant
from samu_operator.model.departments import DEPARTMENTS
from tests.conftest import load_samu30

Doc = dict[str, Any]


def _set(path: str, value: Any) -> Callable[[Doc], None]:
    """A mutation that sets ``spec.a.b`` (dots; [i] for list items) to value."""

    def mutate(doc: Doc) -> None:
        *parents, last = _parts(path)
        node: Any = doc
        for part in parents:
            node = node[part]
        node[last] = value

    return mutate


def _drop(path: str) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        *parents, last = _parts(path)
        node: Any = doc
        for part in parents:
            node = node[part]
        del node[last]

    return mutate


def _parts(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for token in path.replace("]", "").split("."):
        name, *indexes = token.split("[")
        parts.append(name)
        parts += [int(i) for i in indexes]
    return parts


# (case id, mutation, the error path that must be reported, a word the message must hold)
CASES: list[tuple[str, Callable[[Doc], None], str, str]] = [
    ("dept-20", _set("spec.department", "20"), "spec.department", "2A"),
    ("dept-00", _set("spec.department", "00"), "spec.department", "01-95"),
    ("dept-96", _set("spec.department", "96"), "spec.department", "01-95"),
    ("dept-977", _set("spec.department", "977"), "spec.department", "971-976"),
    ("dept-one-digit", _set("spec.department", "3"), "spec.department", "'03'"),
    ("dept-lower-2a", _set("spec.department", "2a"), "spec.department", "2A"),
    ("dept-number", _set("spec.department", 30), "spec.department", "quote"),
    ("dept-missing", _drop("spec.department"), "spec.department", "add it"),
    ("name-mismatch", _set("metadata.name", "samu-31"), "metadata.name", "samu-30"),
    ("name-format", _set("metadata.name", "nimes"), "metadata.name", "samu-"),
    ("display-empty", _set("spec.displayName", ""), "spec.displayName", "at least 1"),
    ("display-long", _set("spec.displayName", "x" * 101), "spec.displayName", "100"),
    ("number-national", _set("spec.numbers[0]", "0466000015"), "spec.numbers[0]", "+33466000015"),
    ("number-short", _set("spec.numbers[0]", "+3346600"), "spec.numbers[0]", "E.164"),
    ("number-foreign", _set("spec.numbers[0]", "+4930123456"), "spec.numbers[0]", "E.164"),
    ("number-dup", _set("spec.numbers", ["+33466000015"] * 2), "spec.numbers[1]", "once"),
    ("image-latest", _set("spec.pbx.image", "reg.example/pbx:latest"), "spec.pbx.image", "pin"),
    ("image-untagged", _set("spec.pbx.image", "reg.example/pbx"), "spec.pbx.image", "tag"),
    ("zones-one", _set("spec.pbx.zones", ["a"]), "spec.pbx.zones", "at least 2"),
    ("zones-empty", _set("spec.pbx.zones", []), "spec.pbx.zones", "at least 2"),
    ("zones-dup", _set("spec.pbx.zones", ["a", "b", "a"]), "spec.pbx.zones[2]", "once"),
    ("zone-bad-name", _set("spec.pbx.zones[1]", "zone b"), "spec.pbx.zones[1]", "zone"),
    ("cpu-bad", _set("spec.pbx.resources.cpu", "two"), "spec.pbx.resources.cpu", "millicores"),
    ("memory-bad", _set("spec.pbx.resources.memory", "4GB"), "spec.pbx.resources.memory", "Gi"),
    (
        "digit-two",
        _set("spec.ivr.vitalDistressDigit", "12"),
        "spec.ivr.vitalDistressDigit",
        "digit",
    ),
    (
        "digit-star",
        _set("spec.ivr.vitalDistressDigit", "*"),
        "spec.ivr.vitalDistressDigit",
        "digit",
    ),
    ("greeting-empty", _set("spec.ivr.greeting", ""), "spec.ivr.greeting", "at least 1"),
    ("queues-empty", _set("spec.queues", []), "spec.queues", "at least 1"),
    ("queue-name-upper", _set("spec.queues[0].name", "Vital"), "spec.queues[0].name", "lower-case"),
    (
        "queue-priority-dup",
        _set("spec.queues[1].priority", 0),
        "spec.queues[1].priority",
        "own priority",
    ),
    ("queue-name-dup", _set("spec.queues[1].name", "vital-distress"), "spec.queues[1]", "distinct"),
    (
        "queue-priority-neg",
        _set("spec.queues[0].priority", -1),
        "spec.queues[0].priority",
        "at least 0",
    ),
    (
        "queue-priority-high",
        _set("spec.queues[0].priority", 10),
        "spec.queues[0].priority",
        "at most 9",
    ),
    (
        "queue-wait-short",
        _set("spec.queues[0].maxWaitSeconds", 1),
        "spec.queues[0].maxWaitSeconds",
        "at least 5",
    ),
    (
        "retention-short",
        _set("spec.recording.retentionDays", 7),
        "spec.recording.retentionDays",
        "at least 30",
    ),
    (
        "recording-one-copy",
        _set("spec.recording.replicas", 1),
        "spec.recording.replicas",
        "at least 2",
    ),
    (
        "delete-not-bool",
        _set("spec.recording.deleteWithTenant", "maybe"),
        "spec.recording.deleteWithTenant",
        "true or false",
    ),
    ("overflow-self", _set("spec.overflow.partner", "samu-30"), "spec.overflow.partner", "itself"),
    (
        "overflow-bad-name",
        _set("spec.overflow.partner", "herault"),
        "spec.overflow.partner",
        "samu-",
    ),
    (
        "overflow-fast",
        _set("spec.overflow.afterSeconds", 0),
        "spec.overflow.afterSeconds",
        "at least 5",
    ),
    ("agents-zero", _set("spec.capacity.agents", 0), "spec.capacity.agents", "at least 1"),
    ("agents-float", _set("spec.capacity.agents", 2.5), "spec.capacity.agents", "whole number"),
    (
        "calls-below-agents",
        _set("spec.capacity.maxConcurrentCalls", 10),
        "spec.capacity.maxConcurrentCalls",
        "at least capacity.agents",
    ),
    ("capacity-missing", _drop("spec.capacity"), "spec.capacity", "add it"),
    (
        "detection-zero",
        _set("spec.failover.detectionSeconds", 0),
        "spec.failover.detectionSeconds",
        "at least 1",
    ),
    (
        "detection-slow",
        _set("spec.failover.detectionSeconds", 60),
        "spec.failover.detectionSeconds",
        "at most 30",
    ),
    (
        "preferred-unknown",
        _set("spec.failover.preferredZones", ["a", "d"]),
        "spec.failover.preferredZones[1]",
        "pbx.zones",
    ),
    (
        "preferred-dup",
        _set("spec.failover.preferredZones", ["a", "a"]),
        "spec.failover.preferredZones[1]",
        "once",
    ),
    ("unknown-field", _set("spec.pbxx", {}), "spec.pbxx", "spelling"),
    (
        "snake-case-field",
        _set("spec.capacity.max_concurrent_calls", 5),
        "spec.capacity.max_concurrent_calls",
        "camelCase",
    ),
    ("spec-not-mapping", _set("spec", ["a"]), "spec", "mapping"),
    ("wrong-kind", _set("kind", "SamuCenter"), "kind", "SamuTenant"),
    ("wrong-api-version", _set("apiVersion", "samu-platform.io/v1"), "apiVersion", "v1alpha1"),
]


def test_there_are_thirty_distinct_malformed_inputs_at_least():
    assert len({case[0] for case in CASES}) == len(CASES) >= 30


@pytest.mark.parametrize(
    ("mutate", "path", "hint"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_malformed_input_names_its_field_and_the_fix(samu30, mutate, path, hint):
    mutate(samu30)
    errors = tenant_errors(samu30)
    assert path in [e.path for e in errors], errors
    message = next(e.message for e in errors if e.path == path)
    assert hint in message, message


def test_every_error_is_reported_not_just_the_first(samu30):
    samu30["spec"]["department"] = "20"
    samu30["spec"]["numbers"] = ["0466000015"]
    samu30["spec"]["pbx"]["zones"] = ["a", "a"]
    samu30["spec"]["capacity"]["agents"] = 0
    with pytest.raises(TenantInvalid) as caught:
        validate_tenant(samu30)
    paths = {e.path for e in caught.value.errors}
    assert {
        "spec.department",
        "spec.numbers[0]",
        "spec.pbx.zones[1]",
        "spec.capacity.agents",
    } <= paths


def test_a_document_that_is_not_a_mapping_is_refused():
    assert [e.path for e in tenant_errors(["not", "a", "tenant"])] == ["(resource)"]


@given(st.text(min_size=1, max_size=4).filter(lambda s: s not in DEPARTMENTS))
def test_any_code_outside_the_official_list_is_refused(code):
    samu30 = load_samu30()
    samu30["spec"]["department"] = code
    assert "spec.department" in {e.path for e in tenant_errors(samu30)}


@given(st.from_regex(r"\A\+33[1-9][0-9]{8}\Z"))
def test_any_french_e164_number_is_accepted(number):
    samu30 = load_samu30()
    samu30["spec"]["numbers"] = [number]
    assert tenant_errors(samu30) == []


@given(
    st.from_regex(r"\A\+?[0-9]{1,15}\Z").filter(
        lambda n: not n.startswith(("+33", "+590", "+594", "+596", "+262", "+508"))
    )
)
def test_numbers_outside_the_french_plan_are_refused(number):
    samu30 = load_samu30()
    samu30["spec"]["numbers"] = [number]
    assert "spec.numbers[0]" in {e.path for e in tenant_errors(samu30)}
