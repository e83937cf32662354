"""The stack's storage policy against what the provider's Swift publishes (its /info)."""

import json

import pytest

from samu_infra.store_policy import policy_issues, published_policies
from samuctl.main import main
from tests.infra.conftest import config_of
from tests.infra.stackgen import PREFIX, REPO

#: Shaped as Swift's /info: policies with name, aliases, default (deprecated ones left out).
INFO = {
    "swift": {
        "version": "2.33.0",
        "policies": [
            {"name": "standard", "aliases": "standard", "default": True},
            {"name": "replicated-3az-encrypted", "aliases": "replicated-3az-encrypted, gold"},
        ],
    }
}


def test_names_and_aliases_are_published():
    assert published_policies(INFO) == {
        "standard": "standard",
        "replicated-3az-encrypted": "replicated-3az-encrypted",
        "gold": "replicated-3az-encrypted",
    }


def test_prod_policy_is_published():
    assert policy_issues(INFO, config_of("prod")) == []


def test_a_missing_policy_names_the_key_and_the_published_ones():
    info = {"swift": {"policies": [{"name": "standard", "default": True}]}}
    ((key, message),) = policy_issues(info, config_of("prod"))
    assert key == "recordings.storagePolicy"
    assert "'replicated-3az-encrypted' is not a storage policy" in message
    assert "['standard']" in message


@pytest.mark.parametrize("doc", [{}, {"swift": {}}, [], {"swift": {"policies": "x"}}])
def test_capabilities_without_policies_are_refused(doc):
    ((key, message),) = policy_issues(doc, config_of("prod"))
    assert key == "recordings.storagePolicy" and "swift capabilities --json" in message


def test_samuctl_plan_checks_the_policy_against_the_capabilities(tmp_path, capsys):
    good = tmp_path / "info.json"
    good.write_text(json.dumps(INFO))
    args = ["plan", "--stack", "prod", "--project-root", str(REPO), "--out", str(tmp_path / "o")]
    assert main([*args, "--swift-capabilities", str(good)]) == 0
    capsys.readouterr()
    bad = tmp_path / "other.json"
    bad.write_text(json.dumps({"swift": {"policies": [{"name": "standard"}]}}))
    assert main([*args, "--swift-capabilities", str(bad)]) == 2
    assert (
        f"{PREFIX}recordings.storagePolicy: 'replicated-3az-encrypted'" in capsys.readouterr().err
    )
