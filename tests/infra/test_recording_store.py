"""The recording store's credential: restricted to the recordings, delivered as the Secret the
shipper reads (samu-recordings-store), never in clear in the plan."""

import pytest

from samu_infra import offline, store
from samu_infra.runner import plan
from tests.infra.conftest import config_of, run_of
from tests.infra.stackgen import REPO

STACKS = ["dev", "prod"]


def _credential(stack: str):
    (cred,) = [r for r in run_of(stack).resources if r.name == "recordings-shipper"]
    return cred


def _secret(stack: str, namespace: str = "samu-edge"):
    (secret,) = [
        r
        for r in run_of(stack).resources
        if r.kind == "Secret"
        and r.inputs["metadata"]["name"] == store.SECRET_NAME
        and r.inputs["metadata"]["namespace"] == namespace
    ]
    return secret


@pytest.mark.parametrize("stack", STACKS)
def test_the_credential_reaches_recordings_containers_only_and_never_deletes(stack):
    cred = _credential(stack)
    assert cred.kind == "ApplicationCredential"
    assert cred.inputs["unrestricted"] is False
    rules = cred.inputs["accessRules"]
    assert {r["service"] for r in rules} == {"object-store"}
    assert all(r["path"].startswith("/v1/*/recordings-*") for r in rules)
    assert "DELETE" not in {r["method"] for r in rules}
    # The shipper can create the container on first write and write its chunks.
    assert {("PUT", "/v1/*/recordings-*"), ("PUT", "/v1/*/recordings-*/**")} <= {
        (r["method"], r["path"]) for r in rules
    }


@pytest.mark.parametrize("namespace", ["samu-edge", "samu-system"])
@pytest.mark.parametrize("stack", STACKS)
def test_the_secret_follows_the_shipper_contract_in_edge_and_operator_namespaces(stack, namespace):
    cfg, secret = config_of(stack), _secret(stack, namespace)
    assert secret.type == "kubernetes:core/v1:Secret"
    data = secret.inputs["stringData"]
    assert (
        set(data)
        == set(store.SECRET_KEYS)
        == {
            "OS_AUTH_URL",
            "OS_AUTH_TYPE",
            "OS_APPLICATION_CREDENTIAL_ID",
            "OS_APPLICATION_CREDENTIAL_SECRET",
            "OS_REGION_NAME",
            "SAMU_RECORDINGS_STORAGE_POLICY",
        }
    )
    assert data["OS_AUTH_TYPE"] == "v3applicationcredential"
    assert data["OS_AUTH_URL"] == cfg.cloud.auth_url
    assert data["OS_REGION_NAME"] == cfg.cloud.region
    assert data["SAMU_RECORDINGS_STORAGE_POLICY"] == cfg.recordings.storage_policy
    assert data["OS_APPLICATION_CREDENTIAL_ID"] == _credential(stack).id
    assert "stringData" in secret.secret_inputs
    # Written before the release whose pods read it (the operator's get it as environment).
    release = {"samu-edge": "samu-edge", "samu-system": "samu-operator"}[namespace]
    order = [(r.kind, r.name) for r in run_of(stack).resources]
    assert order.index(("Namespace", namespace)) < order.index(("Secret", secret.name))
    assert order.index(("Secret", secret.name)) < order.index(("Release", release))


def test_the_credential_secret_never_appears_in_clear_in_the_plan(monkeypatch, tmp_path):
    sentinel = "store-credential-sentinel-31c7"
    monkeypatch.setattr(offline, "PLACEHOLDER", sentinel)
    result = plan(config_of("prod"), "prod", tmp_path, REPO)
    (secret,) = [r for r in result.run.resources if r.name == f"samu-edge-{store.SECRET_NAME}"]
    assert secret.inputs["stringData"]["OS_APPLICATION_CREDENTIAL_SECRET"] == sentinel
    assert result.json_path is not None
    assert sentinel not in result.json_path.read_text()
    assert sentinel not in result.text
    assert "Recording store: credential samu-recordings-shipper" in result.text
    assert "Secret samu-recordings-store in samu-edge, samu-system" in result.text
    assert "Edge media: 12 floating IPs" in result.text
