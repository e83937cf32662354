"""What the edge gets of the positions: the operator's Secret -> the edge's db_text tables."""

import asyncio
import base64
import hashlib
import ipaddress

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from samu_operator import kube
from samu_operator.core import desired, edge_positions, positions
from samu_operator.edge import sidecar
from samu_operator.edge.files import EdgeFiles
from samu_operator.edge.rpc import KamailioRpc
from samu_operator.edge.sync import EdgeSync
from samu_operator.model import TenantInvalid, validate_tenant
from samu_operator.sim.kubelet import EmulatedCluster
from tests.operator.harness import example


def _tenant(name="samu-30", ranges=("10.30.0.0/16",)):
    doc = example(name)
    doc["spec"]["siteRanges"] = list(ranges)
    return validate_tenant(doc)


def _edge_data(tenant, key="k"):
    (edge,) = [
        s
        for s in desired.position_secrets(tenant, key)
        if s["metadata"]["name"] == positions.EDGE_SECRET
    ]
    return {k: base64.b64decode(v).decode() for k, v in edge["data"].items()}


def test_tables_hold_hashes_and_site_ranges_per_tenant():
    t30, t2a = _tenant(), _tenant("samu-2a", ("10.120.0.0/16", "192.168.2.0/24"))
    parsed = [edge_positions.parse(t.name, t.spec.department, _edge_data(t)) for t in (t30, t2a)]
    subscriber = edge_positions.subscriber_table(parsed).splitlines()
    assert subscriber[0].startswith("id(int,auto) username(string) domain(string)")
    assert len(subscriber) == 1 + 40 + 12  # every position of both tenants
    pw = positions.password("k", "samu-30-arm-01")
    ha1 = hashlib.md5(f"samu-30-arm-01:samu-30:{pw}".encode()).hexdigest()
    assert (
        f"1:samu-2a-arm-01:samu-2a::{positions.ha1('samu-2a-arm-01', 'samu-2a', positions.password('k', 'samu-2a-arm-01'))}:"
        in subscriber
    )
    assert any(line.endswith(f":samu-30-arm-01:samu-30::{ha1}:") for line in subscriber)
    assert pw not in "\n".join(subscriber)
    address = edge_positions.address_table(parsed).splitlines()[1:]
    assert address == [
        "1:201:10.120.0.0:16:0:samu-2a",  # 2A's dispatcher set id
        "2:201:192.168.2.0:24:0:samu-2a",
        "3:30:10.30.0.0:16:0:samu-30",
    ]


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"positions": "samu-30-arm-01\tsamu-30\n"}, "not 'account realm ha1'"),
        ({"positions": "samu-30-arm-01\tsamu-30\tnot-a-hash"}, "malformed"),
        ({"positions": f"samu-13-arm-01\tsamu-13\t{'0' * 32}"}, "another tenant"),
        ({"site-ranges": "10.0.0.1/8\n"}, "site range 1"),
    ],
)
def test_a_malformed_secret_is_refused_naming_the_tenant(data, says):
    with pytest.raises(edge_positions.PositionsError, match=says) as info:
        edge_positions.parse("samu-30", "30", data)
    assert "samu-30" in str(info.value)


@pytest.mark.e2e
async def test_the_edge_sidecar_writes_the_published_positions(tmp_path, monkeypatch):
    tenant = _tenant()
    async with EmulatedCluster() as cluster:
        monkeypatch.setenv(kube.SERVER_ENV, cluster.url)
        kube.reset_shared()
        for secret in desired.position_secrets(tenant, "the-key"):
            await cluster.emulator.put("v1/secrets", secret)
        monkeypatch.setattr(
            sidecar,
            "_tenants",
            {"samu-30": {"spec": {"department": "30"}}, "samu-13": {"spec": {"department": "13"}}},
        )
        monkeypatch.setattr(sidecar, "_positions", {})
        sync = EdgeSync(EdgeFiles(tmp_path), KamailioRpc("http://127.0.0.1:9/RPC"))
        assert await asyncio.to_thread(sidecar.refresh_positions, sync) is True
        rows = (tmp_path / "subscriber").read_text().splitlines()[1:]
        assert len(rows) == 40 and all(":samu-30::" in r for r in rows)  # samu-13: none yet
        assert (tmp_path / "address").read_text().splitlines()[1:] == [
            "1:30:10.30.0.0:16:0:samu-30"
        ]
        # Read only by name: the phones' passwords never reached the edge's files.
        passwords = positions.passwords("samu-30", tenant.spec, "the-key").values()
        text = (tmp_path / "subscriber").read_text()
        assert not any(p in text for p in passwords)
        assert await asyncio.to_thread(sidecar.refresh_positions, sync) is False  # unchanged
    kube.reset_shared()


@settings(max_examples=100, deadline=None)
@given(
    name=st.one_of(
        st.text(min_size=1, max_size=20), st.from_regex(r"\A[a-z0-9]([-a-z0-9]{0,20}[a-z0-9])?\Z")
    ),
    cidr=st.one_of(
        st.text(min_size=1, max_size=20),
        st.builds(
            lambda address, prefix: str(ipaddress.IPv4Network((address, prefix), strict=False)),
            st.integers(0, 2**32 - 1),
            st.integers(0, 32),
        ),
    ),
)
def test_free_text_never_changes_the_edges_tables(name, cidr):
    """A position's name and a site range reach Kamailio's tables: arbitrary Unicode is either
    refused by the model (naming the field) or gives exactly one well-formed row each."""
    doc = example("samu-30")
    doc["spec"]["positions"] = [{"name": name}]
    doc["spec"]["siteRanges"] = [cidr]
    try:
        tenant = validate_tenant(doc)
    except TenantInvalid as exc:
        assert "spec.positions[0].name" in str(exc) or "spec.siteRanges[0]" in str(exc)
        event("refused")
        return
    event("accepted")
    parsed = edge_positions.parse(tenant.name, "30", _edge_data(tenant))
    subscriber = edge_positions.subscriber_table([parsed]).split("\n")
    address = edge_positions.address_table([parsed]).split("\n")
    assert len(subscriber) == len(address) == 3 and subscriber[-1] == address[-1] == ""
    assert subscriber[1].split(":")[1:3] == [f"samu-30-{name}", "samu-30"]
    assert len(subscriber[1].split(":")) == 6 and len(address[1].split(":")) == 6
