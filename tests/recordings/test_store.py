"""The store client against a real Swift on loopback: ETag-checked uploads, retention, one
object server down, clear errors."""

import time

import pytest
from swiftclient.exceptions import ClientException

from samu_recordings.store import Store, StoreConfigError, StoreError
from tests.recordings.harness import wait_for


def test_upload_is_confirmed_and_read_back(swift):
    store = Store.from_env(swift.env)
    container = store.ensure_container("samu-test")
    etag = store.put(container, "a/b", b"hello")
    assert etag == "5d41402abc4b2a76b9719d911017c592"
    assert store.get(container, "a/b") == b"hello"
    assert store.list(container, "a/") == ["a/b"]
    assert store.connection.head_container(container)["x-storage-policy"] == "zone-replicated"


def test_a_wrong_etag_is_refused_by_the_store(swift):
    """What Store.put relies on: Swift answers 422 when the bytes differ from the ETag."""
    store = Store.from_env(swift.env)
    container = store.ensure_container("samu-test")
    with pytest.raises(Exception, match="422"):
        store.connection.put_object(container, "bad", b"hello", etag="0" * 32)
    assert not store.exists(container, "bad")


def test_retention_sets_delete_after_and_an_expired_object_is_gone(swift):
    store = Store.from_env(swift.env)
    container = store.ensure_container("samu-test")
    store.put(container, "kept", b"x", delete_after=365 * 86400)
    delete_at = int(store.head(container, "kept")["x-delete-at"])
    assert abs(delete_at - (time.time() + 365 * 86400)) < 120
    # a few seconds, not one: on a loaded machine the HEAD below may come a second later
    store.put(container, "short", b"x", delete_after=5)
    assert "x-delete-at" in store.head(container, "short")
    wait_for("the expired object to be gone", lambda: not store.exists(container, "short"), 30)
    assert store.exists(container, "kept")


def test_one_object_server_down_uploads_still_succeed(swift):
    store = Store.from_env(swift.env)
    container = store.ensure_container("samu-test")
    swift.stop_server("object0")
    try:
        for i in range(5):
            store.put(container, f"degraded-{i}", b"audio %d" % i)
        assert [store.get(container, f"degraded-{i}") for i in range(5)] == [
            b"audio %d" % i for i in range(5)
        ]
    finally:
        swift.start_server("object0")
        swift.wait_started("object0", 30)


def test_missing_credentials_name_the_variable():
    with pytest.raises(StoreConfigError, match="OS_AUTH_URL"):
        Store.from_env({})
    with pytest.raises(StoreConfigError, match="OS_APPLICATION_CREDENTIAL_SECRET"):
        Store.from_env({"OS_AUTH_URL": "http://k", "OS_APPLICATION_CREDENTIAL_ID": "i"})


def test_unreachable_store_is_a_store_error(swift):
    env = {**swift.env, "ST_AUTH": "http://127.0.0.1:9/auth/v1.0"}
    with pytest.raises(StoreError, match=r"unreachable|refused"):
        Store.from_env(env).ensure_container("samu-test")


def test_delete_many_in_one_bulk_request_or_one_by_one(swift, monkeypatch):
    store = Store.from_env(swift.env)
    container = store.ensure_container("samu-test")
    names = [f"bulk/chunk-{i}" for i in range(5)]
    for name in names:
        store.put(container, name, b"x")
    calls = []
    real = store.connection.post_account
    monkeypatch.setattr(
        store.connection, "post_account", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    store.delete_many(container, names[:3])
    assert calls == [1] and store.list(container, "bulk/") == names[3:]

    def no_bulk(*_a, **_k):
        raise ClientException("no bulk", http_status=412)

    monkeypatch.setattr(store.connection, "post_account", no_bulk)
    store.delete_many(container, names[3:])
    assert store.list(container, "bulk/") == []
