"""Drift detection (core/drift.py): server defaults are not drift; edits are."""

from samu_operator.core.drift import drifted, restore_patch

DESIRED = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "c", "namespace": "n", "labels": {"t": "1"}},
    "data": {"a": "1"},
}


def live(**changes):
    obj = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "c",
            "namespace": "n",
            "labels": {"t": "1"},
            "uid": "u",
            "resourceVersion": "9",
        },
        "data": {"a": "1"},
    }
    obj.update(changes)
    return obj


def test_server_fields_are_not_drift():
    assert not drifted(live(), DESIRED)


def test_changed_value_missing_label_and_extra_owned_key_are_drift():
    assert drifted(live(data={"a": "2"}), DESIRED)
    assert drifted(live(metadata={"name": "c", "namespace": "n", "labels": {}}), DESIRED)
    assert drifted(live(data={"a": "1", "b": "x"}), DESIRED)


def test_restore_patch_removes_extra_keys_of_owned_maps():
    patch = restore_patch(live(data={"a": "2", "b": "x"}), DESIRED)
    assert patch["data"] == {"a": "1", "b": None}
    assert patch["metadata"] == {"labels": {"t": "1"}}


def test_lists_compare_whole_and_ignored_paths_are_skipped():
    desired = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {"selector": {"role": "active", "epoch": "0"}, "ports": [{"port": 5060}]},
    }
    current = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {
            "selector": {"role": "active", "epoch": "4"},
            "ports": [{"port": 5060, "protocol": "UDP"}],
            "clusterIP": "10.0.0.1",
        },
    }
    assert drifted(current, desired)
    assert not drifted(current, desired, ignored=[("spec", "selector")])
    assert "selector" not in restore_patch(current, desired, ignored=[("spec", "selector")])["spec"]
    assert drifted(
        {**current, "spec": {**current["spec"], "ports": []}},
        desired,
        ignored=[("spec", "selector")],
    )
