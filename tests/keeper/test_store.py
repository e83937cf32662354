"""Replication through a real Redis: a keeper dies, its live peers adopt each call exactly once,
with every dialog detail intact; a damaged record is kept, not lost."""

import time

import redis

from samu_keeper.core.call_state import key
from samu_keeper.store import CallStore
from tests.keeper.test_call_state import state


def store(url: str, keeper_id: str) -> CallStore:
    return CallStore(redis.Redis.from_url(url), keeper_id)


def test_peers_adopt_a_dead_keepers_calls_exactly_once(redis_url):
    dead, b, c = (
        store(redis_url, "keeper-a"),
        store(redis_url, "keeper-b"),
        store(redis_url, "keeper-c"),
    )
    calls = [state(f"c-{i}@carrier", owner="keeper-a") for i in range(10)]
    for call in calls:
        dead.save(call)
    dead.heartbeat(ttl_ms=300)
    b.heartbeat(ttl_ms=60_000)
    c.heartbeat(ttl_ms=60_000)
    assert b.adopt_orphans() == [] and c.adopt_orphans() == []  # keeper-a is still alive

    deadline = time.monotonic() + 20  # keeper-a "SIGKILLed": its heartbeat simply expires
    while "keeper-a" in b.live_keepers():
        assert time.monotonic() < deadline, "keeper-a's heartbeat never expired"
        time.sleep(0.05)

    adopted = b.adopt_orphans() + c.adopt_orphans()
    assert sorted(s.call_id for s in adopted) == sorted(s.call_id for s in calls)
    assert b.adopt_orphans() == [] and c.adopt_orphans() == []  # nothing adopted twice
    for call in calls:
        now = b.load(call.call_id)
        assert now.owner in {"keeper-b", "keeper-c"}
        assert (now.carrier, now.pbx, now.rtpengine) == (call.carrier, call.pbx, call.rtpengine)


def test_an_ended_call_is_forgotten(redis_url):
    keeper = store(redis_url, "keeper-a")
    keeper.save(state("c-1"))
    keeper.forget("c-1")
    assert keeper.load("c-1") is None and keeper.all() == []


def test_a_damaged_record_is_kept_for_a_human_and_the_others_adopted(redis_url, caplog):
    b = store(redis_url, "keeper-b")
    b.save(state("good", owner="keeper-dead"))
    b.save(state("bad", owner="keeper-dead"))
    b.client.set(key("bad"), "{torn")
    b.heartbeat(ttl_ms=60_000)
    assert [s.call_id for s in b.adopt_orphans()] == ["good"]
    assert b.client.get(key("bad")) == b"{torn"
    assert "'bad' cannot be adopted" in caplog.text
