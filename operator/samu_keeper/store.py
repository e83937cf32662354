"""Kept calls' state in Redis, shared by every keeper of the edge, and the keepers' liveness.

Why Redis: one small Debian package, sub-millisecond writes on the local network, key expiry
for liveness, and WATCH/MULTI for a safe adoption; Kamailio's DMQ replicates Kamailio's own
state only and would need the keeper to speak DMQ. In production each zone's keepers use a
Redis with replicas in the other zones (Sentinel); a record is written on answer and on every
change, and deleted at the call's end.

A record a peer cannot parse is never deleted: it is reported and left for a human (the
caller's details are in it).
"""

import logging
from collections.abc import Iterable
from dataclasses import replace

import redis

from samu_keeper.core import call_state
from samu_keeper.core.call_state import CallState, StateError

LOG = logging.getLogger(__name__)
ALIVE_PREFIX = "samu:keeper:alive:"
INDEX = "samu:keeper:calls"


class CallStore:
    def __init__(self, client: redis.Redis, keeper_id: str) -> None:
        self.client = client
        self.keeper_id = keeper_id

    def save(self, state: CallState) -> None:
        with self.client.pipeline() as pipe:
            pipe.set(call_state.key(state.call_id), call_state.to_json(state))
            pipe.sadd(INDEX, state.call_id)
            pipe.execute()

    def forget(self, call_id: str) -> None:
        """The call ended (BYE on either side, after the rescue if any)."""
        with self.client.pipeline() as pipe:
            pipe.delete(call_state.key(call_id))
            pipe.srem(INDEX, call_id)
            pipe.execute()

    def load(self, call_id: str) -> CallState | None:
        raw = self.client.get(call_state.key(call_id))
        return None if raw is None else call_state.from_json(raw.decode())

    def all(self) -> list[CallState]:
        states = []
        for call_id in sorted(m.decode() for m in self.client.smembers(INDEX)):
            try:
                state = self.load(call_id)
            except StateError as exc:
                LOG.error("kept call %r cannot be adopted, left in the store: %s", call_id, exc)
                continue
            if state is not None:
                states.append(state)
        return states

    def heartbeat(self, ttl_ms: int) -> None:
        """This keeper is alive for ``ttl_ms`` more; peers adopt its calls once it expires."""
        self.client.set(ALIVE_PREFIX + self.keeper_id, "1", px=ttl_ms)

    def live_keepers(self) -> list[str]:
        return sorted(
            key.decode()[len(ALIVE_PREFIX) :]
            for key in self.client.scan_iter(match=ALIVE_PREFIX + "*")
        )

    def adopt_orphans(self) -> list[CallState]:
        """Take over the calls of dead keepers that rendezvous hashing gives to this keeper.

        The owner is compared and set in one transaction, so a call whose owner came back (or
        that a peer with a stale view took) is left alone.
        """
        adopted = []
        orphans: Iterable[CallState] = call_state.orphans_for(
            self.keeper_id, self.all(), self.live_keepers()
        )
        for orphan in orphans:
            mine = self.take(orphan.call_id, orphan.owner)
            if mine is not None:
                adopted.append(mine)
        return adopted

    def take(self, call_id: str, from_owner: str) -> CallState | None:
        """Makes this keeper the owner of ``call_id`` if ``from_owner`` still owns it (one
        transaction: a call whose owner came back, or that a peer took first, is left alone)."""
        key = call_state.key(call_id)
        with self.client.pipeline() as pipe:
            try:
                pipe.watch(key)
                raw = pipe.get(key)
                if raw is None:
                    return None  # ended meanwhile
                current = call_state.from_json(raw.decode())
                if current.owner != from_owner:
                    return None  # someone else moved it
                mine = replace(current, owner=self.keeper_id)
                pipe.multi()
                pipe.set(key, call_state.to_json(mine))
                pipe.execute()
            except redis.WatchError:
                return None
        return mine
