"""One slug for a zone everywhere a zone becomes part of a name.

Zones are the nodes' topology.kubernetes.io/zone values: they may hold '_', '.', capitals or
be long. Object names, the per-zone Services' DNS names, the edge's PBX addresses and its
dispatcher ids use ``labels.zone_slug``; label values and metrics keep the zone itself.
"""

import kubernetes_validate
import pytest

from samu_operator.core import desired, labels
from samu_operator.core.routing import build_routing
from samu_operator.model import validate_tenant
from tests.edge.conftest import tenant_doc

K8S = kubernetes_validate.latest_version()
AWKWARD = ("AZ_1", "fr-par.1", "FR-PAR-1C", "z" * 63)


@pytest.fixture
def doc():
    return tenant_doc("30", zones=AWKWARD, active="fr-par.1", epoch=3)


def test_names_are_dns_labels_and_zones_stay_distinct():
    slugs = {zone: labels.zone_slug(zone) for zone in (*AWKWARD, "a_b", "a-b", "a.b", "a")}
    assert len(set(slugs.values())) == len(slugs)
    for zone, slug in slugs.items():
        name = f"recordings-{slug}"
        assert len(name) <= 63 and name == name.lower(), zone
        assert labels.zone_slug(zone) == slug  # stable
    assert labels.zone_slug("a") == "a" and labels.zone_slug("fr-par-1a") == "fr-par-1a"


def test_every_object_of_awkward_zones_is_valid(doc):
    tenant = validate_tenant({k: v for k, v in doc.items() if k != "status"})
    objs = desired.desired_objects(
        tenant, uid="0e7f1c3a-1111-4222-8333-444455556666", sip_password="x"
    )
    for obj in objs:
        kubernetes_validate.validate(obj, K8S, strict=True)
    sts = {o["metadata"]["labels"][labels.ZONE]: o for o in objs if o["kind"] == "StatefulSet"}
    services = {o["metadata"]["name"] for o in objs if o["kind"] == "Service"}
    for zone in AWKWARD:
        s = sts[zone]
        assert s["metadata"]["name"] == s["spec"]["serviceName"] == f"pbx-{labels.zone_slug(zone)}"
        assert s["spec"]["serviceName"] in services
        # Labels and the node affinity keep the zone itself: it is the nodes' label value.
        terms = s["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"
        ]["nodeSelectorTerms"]
        assert terms[0]["matchExpressions"][0]["values"] == [zone]


def test_the_edge_reaches_each_zone_at_its_service(doc):
    route = build_routing([doc]).route_of("samu-30")
    by_zone = {d.zone: d for d in route.destinations}
    assert set(by_zone) == set(AWKWARD)
    for zone, dest in by_zone.items():
        service = desired.pbx_name(zone)
        assert dest.uri == f"sip:{service}.samu-30.svc.cluster.local:5060"
        assert dest.duid == f"samu-30-{labels.zone_slug(zone)}"
    assert by_zone["fr-par.1"].role == "active"


def test_detection_seconds_drives_the_pbx_readiness_probe():
    doc = tenant_doc("30", zones=("a", "b"))
    for seconds in (1, 2, 7):
        doc["spec"]["failover"]["detectionSeconds"] = seconds
        tenant = validate_tenant({k: v for k, v in doc.items() if k != "status"})
        sts = next(o for o in desired.desired_objects(tenant) if o["kind"] == "StatefulSet")
        probe = sts["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
        # Not ready (so failed over) after `seconds` of a silent PBX: 1 s period x threshold.
        assert probe["periodSeconds"] * probe["failureThreshold"] == seconds
