"""Address-plan guardrails: colliding ranges and bad DNS servers are refused, naming the key."""

from typing import Any

import pytest

from samu_infra.stackfile import ConfigError, parse_config
from samuctl.main import main
from tests.infra.stackgen import PREFIX, REPO, stack_doc, write


def _network(doc: dict[str, Any]) -> dict[str, Any]:
    return doc["config"][f"{PREFIX}network"]


# (case, network key -> value, key named, words of the message)
BROKEN: list[tuple[str, dict[str, Any], str, str]] = [
    (
        "pods inside the supernet",
        {"podCidr": "10.50.64.0/18"},
        "network.podCidr",
        "overlaps the supernet",
    ),
    (
        "services inside the supernet",
        {"serviceCidr": "10.50.0.0/20"},
        "network.serviceCidr",
        "overlaps the supernet",
    ),
    (
        "services inside the pods",
        {"serviceCidr": "10.42.128.0/20"},
        "network.serviceCidr",
        "overlaps the clusters' pod range",
    ),
    (
        "carrier inside the supernet",
        {"carrierCidrs": ["10.50.200.0/24"]},
        "network.carrierCidrs[0]",
        "overlaps the supernet",
    ),
    (
        "carrier inside the pods",
        {"carrierCidrs": ["198.51.100.0/26", "10.42.0.0/24"]},
        "network.carrierCidrs[1]",
        "overlaps the clusters' pod range",
    ),
    (
        "admin inside the supernet",
        {"adminCidrs": ["10.50.0.0/28"]},
        "network.adminCidrs[0]",
        "overlaps the supernet",
    ),
    (
        "admin equals a carrier range",
        {"adminCidrs": ["198.51.100.0/28"]},
        "network.adminCidrs[0]",
        "overlaps a carrier range 198.51.100.0/26",
    ),
    (
        "DNS server is a name",
        {"dnsNameservers": ["ns1.example.fr"]},
        "network.dnsNameservers[0]",
        "not an IPv4 address",
    ),
    (
        "DNS server is a range",
        {"dnsNameservers": ["10.50.128.0/24"]},
        "network.dnsNameservers[0]",
        "not an IPv4 address",
    ),
    (
        "DNS server outside the supernet",
        {"dnsNameservers": ["10.50.128.2", "9.9.9.9"]},
        "network.dnsNameservers[1]",
        "outside the supernet",
    ),
    (
        "DNS server is the supernet's broadcast",
        {"dnsNameservers": ["10.50.255.255"]},
        "network.dnsNameservers[0]",
        "not a host address",
    ),
]


@pytest.mark.parametrize(
    ("change", "key", "words"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN]
)
def test_a_broken_address_plan_is_refused_naming_the_key(change, key, words):
    doc = stack_doc("prod")
    _network(doc).update(change)
    with pytest.raises(ConfigError) as err:
        parse_config(doc["config"], "prod", REPO)
    found = {i.key: i.message for i in err.value.issues}
    assert f"{PREFIX}{key}" in found, found
    assert words in found[f"{PREFIX}{key}"]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_committed_stacks_have_disjoint_ranges_and_inner_resolvers(stack):
    cfg = parse_config(stack_doc(stack)["config"], stack, REPO)
    assert cfg.network.pod_cidr and cfg.network.service_cidr


def test_a_carrier_may_announce_a_range_and_its_sub_range():
    doc = stack_doc("prod")
    _network(doc)["carrierCidrs"] = ["198.51.100.0/24", "198.51.100.0/26"]
    parse_config(doc["config"], "prod", REPO)


def test_pod_and_service_ranges_are_required():
    doc = stack_doc("dev")
    del _network(doc)["podCidr"]
    with pytest.raises(ConfigError) as err:
        parse_config(doc["config"], "dev", REPO)
    assert f"{PREFIX}network.podCidr" in {i.key for i in err.value.issues}


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"podCidr": "10.40.0.0/16"}, "network.podCidr"),
        ({"dnsNameservers": ["8.8.8.8"]}, "network.dnsNameservers[0]"),
    ],
)
def test_samuctl_plan_refuses_a_colliding_stack_with_exit_2(tmp_path, capsys, change, key):
    doc = stack_doc("dev")
    _network(doc).update(change)
    path = write(doc, tmp_path, "broken")
    code = main(
        [
            "plan",
            "--project-root",
            str(REPO),
            "--config-file",
            str(path),
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 2
    assert f"{PREFIX}{key}" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
