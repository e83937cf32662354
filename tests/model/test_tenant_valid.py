"""What the SamuTenant model must accept, and what it derives from a valid spec."""

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from samu_operator.model import SamuTenant, tenant_name_for, validate_tenant
from samu_operator.model.departments import DEPARTMENTS
from tests.conftest import example_paths


@pytest.mark.parametrize("path", example_paths(), ids=lambda p: p.name)
def test_every_example_is_valid(path):
    tenant = validate_tenant(yaml.safe_load(path.read_text(encoding="utf-8")))
    assert tenant.metadata.name == path.stem
    assert tenant.name == tenant_name_for(tenant.spec.department)


def test_there_are_examples_for_three_real_centres_at_least():
    names = {p.stem for p in example_paths()}
    assert {"samu-30", "samu-13", "samu-2a"} <= names


def test_defaults_fill_what_a_small_centre_leaves_out(samu30):
    for key in ("ivr", "recording", "failover", "numbers", "overflow"):
        samu30["spec"].pop(key)
    spec = validate_tenant(samu30).spec
    assert spec.ivr.vital_distress_digit == "1"
    assert spec.recording.replicas == 2
    assert spec.recording.delete_with_tenant is False
    assert spec.failover.detection_seconds == 2
    assert spec.numbers == []
    assert spec.overflow is None


def test_zone_order_puts_preferred_zones_first_then_the_others(samu30):
    samu30["spec"]["failover"]["preferredZones"] = ["fr-par-1c"]
    assert validate_tenant(samu30).spec.zone_order == ["fr-par-1c", "fr-par-1a", "fr-par-1b"]


def test_vital_queue_is_the_one_served_first(samu30):
    samu30["spec"]["queues"] = [
        {"name": "general", "priority": 5},
        {"name": "vital", "priority": 0},
    ]
    assert validate_tenant(samu30).spec.vital_queue.name == "vital"


def test_round_trip_through_camel_case_keeps_everything(samu30):
    tenant = validate_tenant(samu30)
    again = SamuTenant.model_validate(tenant.model_dump(by_alias=True, exclude_none=True))
    assert again == tenant
    dumped = tenant.model_dump(by_alias=True)
    assert dumped["spec"]["capacity"]["maxConcurrentCalls"] == 120
    assert dumped["spec"]["failover"]["preferredZones"] == ["fr-par-1a", "fr-par-1b", "fr-par-1c"]


def test_status_keeps_keys_it_does_not_know(samu30):
    """Kopf writes its own bookkeeping into status; the model must not drop it."""
    samu30["status"] = {"phase": "Ready", "epoch": 3, "kopf": {"progress": {}}}
    status = validate_tenant(samu30).status
    assert status is not None
    assert status.epoch == 3
    assert status.model_dump(by_alias=True)["kopf"] == {"progress": {}}


@given(st.sampled_from(sorted(DEPARTMENTS)))
def test_every_departement_code_makes_a_valid_tenant(code):
    doc = {
        "apiVersion": "samu-platform.io/v1alpha1",
        "kind": "SamuTenant",
        "metadata": {"name": tenant_name_for(code)},
        "spec": {
            "department": code,
            "displayName": f"SAMU {code}",
            "pbx": {"image": "registry.example/pbx:1.0", "zones": ["a", "b"]},
            "queues": [{"name": "general", "priority": 5}],
            "capacity": {"agents": 1, "maxConcurrentCalls": 1},
        },
    }
    assert validate_tenant(doc).spec.department == code


def test_departement_list_is_the_official_one():
    assert len(DEPARTMENTS) == 94 + 2 + 6  # 01-95 without 20, 2A/2B, 971-976
    assert "20" not in DEPARTMENTS
    assert {"2A", "2B", "971", "976", "01", "95"} <= DEPARTMENTS
