"""The edge's Record-Route signing key: from a Secret, the same for every edge of a release."""

import base64

from tests.helm.charts import EDGE_CHART, render


def _key_ref(values: dict | None = None) -> dict:
    pod = render(EDGE_CHART, values).one("Deployment")["spec"]["template"]["spec"]
    kamailio = next(c for c in pod["containers"] if c["name"] == "kamailio")
    env = {e["name"]: e for e in kamailio["env"]}
    return env["SAMU_EDGE_RR_KEY"]["valueFrom"]["secretKeyRef"]


def test_the_chart_creates_a_random_key_that_every_edge_reads() -> None:
    rendered = render(EDGE_CHART, {})
    ref = _key_ref()
    secrets = [s for s in rendered.of_kind("Secret") if s["metadata"]["name"] == ref["name"]]
    assert len(secrets) == 1, f"no Secret {ref['name']} rendered"
    key = base64.b64decode(secrets[0]["data"][ref["key"]])
    assert len(key) >= 32, "the signing key must be long and random"
    # kept on uninstall/upgrade: a new key would refuse every call's in-dialog requests
    assert secrets[0]["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep"


def test_a_named_secret_replaces_the_charts_own() -> None:
    values = {"sip": {"routeKeySecretName": "edge-route-key"}}
    assert _key_ref(values) == {"name": "edge-route-key", "key": "key"}
    assert render(EDGE_CHART, values).of_kind("Secret") == []
