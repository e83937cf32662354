"""The SIP edge release: samu-edge chart in namespace samu-edge, values from the stack,
after the operator release on the same provider; a bad ``edge`` section declares nothing."""

import json
from typing import Any

import pytest
import yaml

from samu_infra import edge_release, tenancy
from samu_infra.edge import SIP_TLS_PORT, merge
from samu_infra.inventory import Declared
from samu_infra.offline import run_offline
from samu_infra.stackfile import ConfigError, parse_config
from samuctl.main import main
from tests.infra.conftest import config_of, run_of
from tests.infra.stackgen import PREFIX, REPO, stack_doc, write

STACKS = ["dev", "prod"]
#: What a careless `pulumi config set` without --secret would leave in the stack file.
CLEAR_PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"
EDGE_CHART = REPO / "helm" / "samu-edge"


def releases(stack: str) -> dict[str, Declared]:
    return {r.name: r for r in run_of(stack).resources if r.kind == "Release"}


@pytest.mark.parametrize("stack", STACKS)
def test_edge_release_is_declared_in_samu_edge_with_values_from_the_stack(stack):
    cfg, run = config_of(stack), run_of(stack)
    edge = releases(stack)["samu-edge"]
    assert edge.type == "kubernetes:helm.sh/v3:Release"
    assert edge.inputs["namespace"] == "samu-edge"
    assert edge.inputs["name"] == "samu-edge"
    # The program declares the Namespace (the TLS Secret must be in it before the release).
    assert edge.inputs["createNamespace"] is False and edge.inputs["atomic"] is True
    assert edge.inputs["chart"] == str(REPO / "helm" / "samu-edge")
    values = edge.inputs["values"]
    # The carrier ranges of the SIP security group, plus the supernet (Octavia's amphorae).
    sources = [*cfg.network.carrier_cidrs, cfg.network.supernet]
    assert values["networkPolicy"]["carrierCidrs"] == sources
    assert values["service"]["loadBalancerSourceRanges"] == sources
    # sip.advertise is the SIP edge load balancer's floating IP, as the stack exports it.
    (fip,) = [r for r in run.resources if r.kind == "FloatingIp" and r.name == "telephony-sip-edge"]
    address = run.resource_outputs[fip.id]["address"]
    assert values["sip"]["advertise"] == address == run.outputs["telephonySipEdgeAddress"]
    assert values["sip"]["tls"]["enabled"] is True
    assert values["sip"]["tls"]["port"] == SIP_TLS_PORT == tenancy.SIP_TLS
    # Reached through the stack's own LB on the workers' fixed node port (test_sip_path.py).
    assert values["service"]["type"] == "NodePort"
    assert values["service"]["nodePorts"] == {"sipTls": cfg.edge.sip_tls_node_port}
    assert values["service"]["externalTrafficPolicy"] == "Local"
    # The rest comes from the stack's edge.values.
    assert values["sip"]["tls"]["secretName"] == cfg.edge.values["sip"]["tls"]["secretName"]
    assert values["replicaCount"] == cfg.edge.values["replicaCount"]


@pytest.mark.parametrize("stack", STACKS)
def test_edge_values_fit_the_edge_charts_schema(stack):
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema comes with the test extras")
    schema = json.loads((EDGE_CHART / "values.schema.json").read_text())
    defaults = yaml.safe_load((EDGE_CHART / "values.yaml").read_text())
    values = merge(defaults, releases(stack)["samu-edge"].inputs["values"])
    jsonschema.validate(values, schema)


def test_edge_release_follows_the_operator_release_on_its_provider(monkeypatch):
    seen: list[Any] = []

    class Recording(edge_release.Release):  # type: ignore[misc]
        def __init__(self, resource_name: str, *args: Any, opts: Any = None, **kwargs: Any) -> None:
            seen.append(opts)
            super().__init__(resource_name, *args, opts=opts, **kwargs)

    monkeypatch.setattr(edge_release, "Release", Recording)
    run_offline(config_of("dev"), "dev", REPO)
    (opts,) = seen
    deps = [(type(d).__name__, d._name) for d in opts.depends_on]
    assert deps[0] == ("Release", "samu-operator")
    assert type(opts.provider).__name__ == "Provider"
    assert opts.provider._name == "telephony-k8s"  # the operator release's provider


def _edge(cfg: dict[str, Any]) -> dict[str, Any]:
    return cfg[f"{PREFIX}edge"]


def _values(path: str, value: Any):
    def edit(cfg: dict[str, Any]) -> None:
        node = _edge(cfg)["values"]
        *parents, last = path.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = value

    return edit


CASES = [
    ("one edge only", _values("replicaCount", 1), "edge.values.replicaCount", "less than"),
    ("advertise a name", _values("sip.advertise", "sip.example.fr"), "edge.values.sip.advertise",
     "does not match"),
    ("unknown value", _values("sipp", {}), "edge.values", "'sipp' was unexpected"),
    ("carrier ranges repeated", _values("networkPolicy.carrierCidrs", ["198.51.100.0/26"]),
     "edge.values.networkPolicy.carrierCidrs", "derived from network.carrierCidrs"),
    ("TLS switched off", _values("sip.tls.enabled", False), "edge.values.sip.tls.enabled",
     "remove it from edge.values"),
    ("no certificate", _values("sip.tls.secretName", ""), "edge.values.sip.tls.secretName",
     "name the Secret"),
    ("other namespace", lambda c: _edge(c).__setitem__("namespace", "telephony"),
     "edge.namespace", "admit SIP only from namespace samu-edge"),
    ("no chart there", lambda c: _edge(c).__setitem__("chart", "helm/nope"), "edge.chart",
     "not a readable chart"),
    ("no SIP load balancer", lambda c: c[f"{PREFIX}clusters"][0].__setitem__("sipEdge", False),
     "clusters[0].sipEdge", "set sipEdge: true"),
    ("clear secret in edge values", _values("sip.tls.secretKey", "abc"),
     "edge.values.sip.tls.secretKey", "clear-text secret"),
    ("node port below the range", lambda c: _edge(c).__setitem__("sipTlsNodePort", 5061),
     "edge.sipTlsNodePort", "set at least 30000"),
    ("node port above the range", lambda c: _edge(c).__setitem__("sipTlsNodePort", 32768),
     "edge.sipTlsNodePort", "set at most 32767"),
    ("node port in edge values", _values("service.nodePorts.sipTls", 30999),
     "edge.values.service.nodePorts.sipTls", "derived from edge.sipTlsNodePort"),
    ("service type in edge values", _values("service.type", "LoadBalancer"),
     "edge.values.service.type", "remove it from edge.values"),
    ("cluster traffic policy", _values("service.externalTrafficPolicy", "Cluster"),
     "edge.values.service.externalTrafficPolicy", "health monitor"),
    ("clear certificate", lambda c: _edge(c)["tls"].__setitem__("certificate", CLEAR_PEM),
     "edge.tls.certificate",
     "pulumi config set --secret --path edge.tls.certificate"),
    ("clear private key", lambda c: _edge(c)["tls"].__setitem__("privateKey", CLEAR_PEM),
     "edge.tls.privateKey", "pulumi config set --secret --path edge.tls.privateKey"),
    ("no private key", lambda c: _edge(c)["tls"].pop("privateKey"), "edge.tls.privateKey",
     "missing: the program writes Secret samu-edge-sip-tls"),
    ("no certificate at all", lambda c: _edge(c).pop("tls"), "edge.tls.certificate",
     "existingSecret: true"),
    ("material and existing Secret",
     lambda c: _edge(c)["tls"].__setitem__("existingSecret", True),
     "edge.tls.certificate", "existingSecret is true"),
]  # fmt: skip


@pytest.mark.parametrize(("what", "edit", "key", "fix"), CASES, ids=[c[0] for c in CASES])
def test_bad_edge_section_names_the_key_and_the_fix(what, edit, key, fix):
    cfg = stack_doc("dev")["config"]
    edit(cfg)
    with pytest.raises(ConfigError) as caught:
        parse_config(cfg, "dev", REPO)
    issues = {i.key: i.message for i in caught.value.issues}
    assert PREFIX + key in issues, issues
    assert fix in issues[PREFIX + key], issues[PREFIX + key]


def test_a_secret_objects_name_is_not_a_clear_secret():
    cfg = parse_config(stack_doc("dev")["config"], "dev", REPO)
    assert cfg.edge.values["sip"]["tls"]["secretName"] == "samu-edge-sip-tls"


def test_pinned_advertise_address_wins_over_the_load_balancers():
    doc = stack_doc("dev")
    _values("sip.advertise", "192.0.2.200")(doc["config"])
    from samu_infra.edge import release_values

    cfg = parse_config(doc["config"], "dev", REPO)
    assert release_values(cfg, "203.0.113.9")["sip"]["advertise"] == "192.0.2.200"


def test_bad_edge_values_fail_the_plan_before_any_resource_is_declared(tmp_path, capsys, declared):
    doc = stack_doc("dev")
    _values("replicaCount", 1)(doc["config"])
    path = write(doc, tmp_path, "broken")
    out_dir = tmp_path / "out"
    assert main(["plan", "--project-root", str(REPO), "--config-file", str(path),
                 "--out", str(out_dir)]) == 2  # fmt: skip
    err = capsys.readouterr().err
    assert "samu-platform:edge.values.replicaCount" in err
    assert declared == [] and not out_dir.exists()
