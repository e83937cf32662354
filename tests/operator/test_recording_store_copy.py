"""The recording store's credential reaches every tenant's namespace: the operator copies it
from its own environment (injected by the kubelet from the Secret in its namespace), so it
never needs to read a Secret through the API, and `samuctl tenant render` never prints it."""

from samu_operator.core.desired import (
    STORE_SECRET_KEYS,
    STORE_SECRET_NAME,
    desired_objects,
    store_data_from,
)
from samu_operator.model.errors import validate_tenant
from tests.helm.charts import OPERATOR_CHART, bound_cluster_role, render
from tests.operator.harness import example

ENV = {k: f"value-of-{k.lower()}" for k in STORE_SECRET_KEYS}


def _store_secrets(**kw):
    tenant = validate_tenant(example("samu-30"))
    objs = desired_objects(tenant, uid="u-1", **kw)
    return [o for o in objs if o["kind"] == "Secret" and o["metadata"]["name"] == STORE_SECRET_NAME]


def test_the_tenant_gets_the_store_secret_from_the_operator_environment():
    data = store_data_from({**ENV, "PATH": "/usr/bin"})
    assert data == ENV
    (secret,) = _store_secrets(store_data=data)
    assert secret["metadata"]["namespace"] == "samu-30"
    assert secret["stringData"] == ENV
    assert secret["metadata"]["ownerReferences"][0]["name"] == "samu-30"


def test_no_copy_without_a_complete_credential_and_none_when_rendering():
    partial = {k: v for k, v in ENV.items() if k != "OS_APPLICATION_CREDENTIAL_SECRET"}
    assert store_data_from(partial) is None
    assert _store_secrets(store_data=None) == []
    assert _store_secrets() == []


def test_the_chart_gives_the_operator_the_store_secret_as_optional_environment():
    rendered = render(OPERATOR_CHART)
    (container,) = rendered.one("Deployment")["spec"]["template"]["spec"]["containers"]
    assert {"secretRef": {"name": "samu-recordings-store", "optional": True}} in container[
        "envFrom"
    ]
    role = bound_cluster_role(rendered)
    secret_rules = [r for r in role["rules"] if "secrets" in r["resources"]]
    # Still no list/watch on Secrets; get only by name, the store copy among them.
    assert all("list" not in r["verbs"] and "watch" not in r["verbs"] for r in secret_rules)
    named = [r for r in secret_rules if "get" in r["verbs"]]
    assert named and all(STORE_SECRET_NAME in r["resourceNames"] for r in named)
