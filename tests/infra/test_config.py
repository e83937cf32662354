"""Stack config errors: each names its key and the fix, and nothing is declared."""

from collections.abc import Callable
from typing import Any

import pytest

from samu_infra.stackfile import ConfigError, parse_config
from tests.infra.stackgen import PREFIX, stack_doc

Edit = Callable[[dict[str, Any]], None]


def k(name: str) -> str:
    return PREFIX + name


def _set(path: str, value: Any) -> Edit:
    def edit(cfg: dict[str, Any]) -> None:
        keys = path.split(".")
        node = cfg[k(keys[0])]
        for key in keys[1:-1]:
            node = node[int(key)] if key.isdigit() else node[key]
        last = keys[-1]
        if len(keys) == 1:
            cfg[k(last)] = value
        else:
            node[int(last) if last.isdigit() else last] = value

    return edit


def _add(key: str, value: Any) -> Edit:
    return lambda cfg: cfg.__setitem__(key, value)


CASES: list[tuple[str, Edit, str, str]] = [
    ("unknown key", _add(k("clusterz"), []), k("clusterz"), "unknown key"),
    ("unknown nested key", _set("network.supernett", "10.0.0.0/16"), k("network.supernett"),
     "unknown key"),
    ("foreign namespace", _add("openstack:region", "fr-par-1"), "openstack:region",
     "write it as samu-platform:<key>"),
    ("bad CIDR", _set("network.supernet", "10.40.0.0/33"), k("network.supernet"),
     "not an IPv4 CIDR"),
    ("host bits", _set("network.adminCidrs.0", "192.0.2.1/28"), k("network.adminCidrs[0]"),
     "no host bits"),
    ("open admin range", _set("network.adminCidrs.0", "0.0.0.0/0"), k("network.adminCidrs[0]"),
     "whole internet"),
    ("two zones", _set("cloud.zones", ["fr-par-1a", "fr-par-1c"]), k("cloud.zones"),
     "3 availability zones"),
    ("nine zones", _set("cloud.zones", [f"fr-par-1{c}" for c in "abcdefghi"]), k("cloud.zones"),
     "8 at most"),
    ("region outside the allow-list", _set("cloud.region", "us-east-1"), k("cloud.region"),
     "not a SecNumCloud-qualified region"),
    ("clear-text password", _set("oracleAdminPassword", "hunter2"), k("oracleAdminPassword"),
     "clear-text secret"),
    ("clear-text token", _set("clusterSecrets.telephony.joinToken", "K10abc"),
     k("clusterSecrets.telephony.joinToken"), "pulumi config set --secret"),
    ("clear-text secret in chart values", _set("operator.values.registryToken", "abc"),
     k("operator.values.registryToken"), "clear-text secret"),
    ("missing cluster secrets", lambda c: c[k("clusterSecrets")].pop("telephony"),
     k("clusterSecrets.telephony"), "missing"),
    ("standby zone unknown", _set("oracle.standbyZone", "fr-par-1z"), k("oracle.standbyZone"),
     "not in cloud.zones"),
    ("one RAC node", _set("oracle.nodes", 1), k("oracle.nodes"), "at least 2"),
    ("operator on no cluster", _set("operator.cluster", "billing"), k("operator.cluster"),
     "'billing' is not in"),
    ("unencrypted recordings", _set("recordings.encrypted", False), k("recordings.encrypted"),
     "health data"),
    ("tenant zone unknown", _set("tenants.0.pbx.zones", ["fr-par-1a", "x"]),
     k("tenants[0].pbx.zones[1]"), "not a zone of this stack"),
    ("tenant spec invalid", _set("tenants.0.capacity", {"agents": 50, "maxConcurrentCalls": 10}),
     k("tenants[0].capacity.maxConcurrentCalls"), "at least capacity.agents"),
    ("more copies than the policy keeps",
     lambda c: c[k("recordings")].__setitem__("replicatedZones", 2)
     or c[k("tenants")][0]["recording"].__setitem__("replicas", 3),
     k("tenants[0].recording.replicas"), "the storage policy keeps 2"),
    ("auth over http", _set("cloud.authUrl", "http://keystone/v3"), k("cloud.authUrl"),
     "does not match"),
]  # fmt: skip


def test_committed_stacks_are_valid():
    for stack in ("dev", "prod"):
        assert parse_config(stack_doc(stack)["config"], stack).cloud.region == "fr-par-1"


@pytest.mark.parametrize(("what", "edit", "key", "fix"), CASES, ids=[c[0] for c in CASES])
def test_bad_config_names_the_key_and_the_fix(what, edit, key, fix):
    cfg = stack_doc("dev")["config"]
    edit(cfg)
    with pytest.raises(ConfigError) as caught:
        parse_config(cfg, "dev")
    issues = {i.key: i.message for i in caught.value.issues}
    assert key in issues, issues
    assert fix in issues[key], issues[key]


def test_a_clear_secret_is_reported_once():
    cfg = stack_doc("dev")["config"]
    _set("oracleAdminPassword", "hunter2")(cfg)
    with pytest.raises(ConfigError) as caught:
        parse_config(cfg, "dev")
    assert [i.key for i in caught.value.issues] == [k("oracleAdminPassword")]
    assert "hunter2" not in str(caught.value)  # an error message never echoes the secret


def test_all_issues_are_reported_at_once():
    cfg = stack_doc("dev")["config"]
    _set("cloud.region", "us-east-1")(cfg)
    _set("tenants.0.pbx.zones", ["fr-par-1a", "x"])(cfg)
    _set("recordings.encrypted", False)(cfg)
    with pytest.raises(ConfigError) as caught:
        parse_config(cfg, "dev")
    assert len(caught.value.issues) == 3
