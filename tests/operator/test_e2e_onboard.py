"""Onboarding against the emulator: the real Kopf operator, the simulated kubelet."""

import pytest

from tests.operator.harness import apply, obj, phase, tenant_doc, wait_for

pytestmark = pytest.mark.e2e


async def test_onboard_one_tenant_becomes_ready(cluster, operator):
    await apply(cluster, tenant_doc("30"))
    await wait_for(lambda: phase(cluster, "samu-30") == "Ready", timeout=30, what="samu-30 Ready")
    sts = obj(cluster, "apps/v1/statefulsets", "samu-30", "pbx-a")
    assert sts is not None
