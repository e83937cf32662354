"""The answering positions: who answers which queue, how the PBX rings them, their accounts."""

import base64
import copy
import re

import pytest

from samu_operator.core import asterisk, desired, positions
from samu_operator.core.pbx_contract import EDGE_HOST
from samu_operator.model import TenantInvalid, validate_tenant
from tests.operator.harness import example


def _tenant(**spec_changes):
    doc = copy.deepcopy(example("samu-30"))
    doc["spec"].update(spec_changes)
    return validate_tenant(doc)


def _members(conf, queue):
    body = re.search(rf"^\[q-{queue}\]\n(.*?)(?=^\[|\Z)", conf, re.S | re.M).group(1)
    return re.findall(r"^member => ([^,]+),(\d+),(\S+)$", body, re.M)


def test_default_positions_come_from_capacity_and_answer_every_queue():
    tenant = _tenant()
    found = positions.positions(tenant.spec)
    assert len(found) == tenant.spec.capacity.agents == 40
    assert found[0].name == "arm-01" and found[-1].name == "arm-40"
    assert all(set(p.queues) == {"vital-distress", "general"} for p in found)
    conf = asterisk.queues_conf(tenant.name, tenant.spec)
    for queue in ("vital-distress", "general"):
        members = _members(conf, queue)
        assert len(members) == 40
        assert members[0] == (f"PJSIP/edge/sip:samu-30-arm-01@{EDGE_HOST}", "0", "arm-01")


def test_listed_positions_serve_their_queues():
    tenant = _tenant(
        positions=[
            {"name": "vital-1", "queues": ["vital-distress"]},
            {"name": "arm-1"},
        ]
    )
    conf = asterisk.queues_conf(tenant.name, tenant.spec)
    assert [m[2] for m in _members(conf, "vital-distress")] == ["vital-1", "arm-1"]
    assert [m[2] for m in _members(conf, "general")] == ["arm-1"]


def test_vital_distress_rings_first_and_everyone():
    tenant = _tenant()
    conf = asterisk.queues_conf(tenant.name, tenant.spec)

    def setting(queue, key):
        body = re.search(rf"^\[q-{queue}\]\n(.*?)(?=^\[|\Z)", conf, re.S | re.M).group(1)
        return re.search(rf"^{key} = (\S+)$", body, re.M).group(1)

    # A position shared by both queues is offered the vital caller first (app_queue weight),
    # and a vital call rings every free position at once.
    assert int(setting("vital-distress", "weight")) > int(setting("general", "weight"))
    assert setting("vital-distress", "strategy") == "ringall"
    assert setting("general", "strategy") == "leastrecent"
    for queue in ("vital-distress", "general"):
        assert setting(queue, "autofill") == "yes" and setting(queue, "ringinuse") == "no"
        assert int(setting(queue, "wrapuptime")) > 0 and setting(queue, "autopause") == "no"


@pytest.mark.parametrize(
    ("positions_", "where", "says"),
    [
        ([{"name": "a"}, {"name": "a"}], "spec.positions[1]", "distinct"),
        ([{"name": "a", "queues": ["nope"]}], "spec.positions[0].queues[0]", "does not exist"),
        ([{"name": "A B"}], "spec.positions[0].name", "DNS label"),
    ],
)
def test_bad_positions_are_refused_naming_the_field(positions_, where, says):
    doc = copy.deepcopy(example("samu-30"))
    doc["spec"]["positions"] = positions_
    with pytest.raises(TenantInvalid) as info:
        validate_tenant(doc)
    assert where in str(info.value) and says in str(info.value)


def test_site_ranges_are_networks():
    doc = copy.deepcopy(example("samu-30"))
    doc["spec"]["siteRanges"] = ["10.30.0.1/16"]
    with pytest.raises(TenantInvalid) as info:
        validate_tenant(doc)
    assert "spec.siteRanges[0]" in str(info.value) and "host bits" in str(info.value)


def test_ha1_is_rfc_2617s():
    assert positions.ha1("Mufasa", "testrealm@host.com", "Circle Of Life") == (
        "939e7578ed9e3c518a452acee763bce9"
    )


def test_passwords_derive_from_the_key_and_differ_per_account():
    a = positions.password("k1", "samu-30-arm-01")
    assert a == positions.password("k1", "samu-30-arm-01")  # stable: nothing to store
    assert a != positions.password("k1", "samu-30-arm-02")
    assert a != positions.password("k2", "samu-30-arm-01")
    assert len(a) == 32


def test_the_edge_gets_hashes_and_ranges_never_passwords():
    tenant = _tenant(siteRanges=["10.30.0.0/16", "192.168.30.0/24"])
    edge, pw = None, None
    for secret in desired.position_secrets(tenant, "the-key"):
        if secret["metadata"]["name"] == positions.EDGE_SECRET:
            edge = secret
        else:
            pw = secret
    edge_text = "".join(base64.b64decode(v).decode() for v in edge["data"].values())
    passwords = {k: base64.b64decode(v).decode() for k, v in pw["data"].items()}
    assert len(passwords) == 40
    assert not any(p in edge_text for p in passwords.values()) and "the-key" not in edge_text
    assert "10.30.0.0/16\n192.168.30.0/24\n" in edge_text
    assert desired.apply_policy(edge) == desired.ApplyPolicy()  # derived: patched back
    key_secret = desired.position_key_secret("samu-30", "k")
    assert desired.apply_policy(key_secret).create_only  # generated: never overwritten
    assert "stringData" not in desired.position_key_secret("samu-30", None)  # render: no secret
