"""The recording PVCs name the platform's encrypted StorageClass, or the one the operator's
environment names (a cluster whose class has another name)."""

from samu_operator.core.desired import STORAGE_CLASS, desired_objects
from samu_operator.model.errors import validate_tenant
from tests.operator.harness import example


def _pvc_classes(**kw):
    tenant = validate_tenant(example("samu-30"))
    return {
        o["spec"].get("storageClassName")
        for o in desired_objects(tenant, **kw)
        if o["kind"] == "PersistentVolumeClaim"
    }


def test_recording_pvcs_name_the_encrypted_class_by_default():
    assert _pvc_classes() == {STORAGE_CLASS} == {"samu-encrypted"}


def test_the_class_can_be_named_by_the_operator_environment():
    assert _pvc_classes(storage_class="ceph-encrypted") == {"ceph-encrypted"}
