"""Sold-out events as the caches read them, and the fence of writes that could re-open one.

Every read is one transaction on the event's own keys (one hash tag, one Cluster slot),
through the app's client, so it works in every Redis mode. With replicas, ``replicated``
tells whether they hold what was read: the app's cache answers a winner only then.

The fence: a write that could raise the stock or change the winners of a sold-out event
first sets ``coupon:{E}:fence``, then waits out the lease (``Settings.fence_wait_s``), and
only then writes. A gateway or an app worker answers "sold out" only from a state it
verified within the lease, and a state read after the fence was set is not sold out. So
when the write lands, nobody answers from before it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from couponrush.core.frozen import Frozen, Stamp, stamp_of
from couponrush.store import live
from couponrush.store.client import RedisClient, translated
from couponrush.store.keys import decode_participant, event_keys
from couponrush.store.nodes import ReplicaWait, Topology, exchange

# A fence left by a writer that died is harmless (nobody answers from the edge or the
# caches meanwhile) and goes by itself after this long.
_FENCE_TTL_S = 600
# Transactions of the feed in flight at once: a few of the app pool's connections (16 by
# default), never all of them.
_AT_ONCE = 4


class FrozenStore:
    def __init__(self, redis: RedisClient, wait: ReplicaWait | None = None) -> None:
        self._redis = redis
        self._wait = wait
        self._topology = Topology(redis)

    async def stamp(self, event_id: str) -> Stamp | None:
        meta, stock, count, fenced = await self._read(event_id, winners=False)
        return stamp_of(event_id, meta, stock, count, fenced, _now_ms())

    async def frozen(self, event_id: str) -> Frozen | None:
        meta, stock, raw, fenced = await self._read(event_id, winners=True)
        stamp = stamp_of(event_id, meta, stock, len(raw), fenced, _now_ms())
        if stamp is None or not stamp.sold_out:
            return None
        return Frozen(stamp, {user: decode_participant(value) for user, value in raw.items()})

    async def replicated(self, event_id: str) -> bool:
        """Whether enough replicas hold everything read of the event so far: a write of the
        event's barrier key, then WAIT, on one connection to its primary (see
        store.nodes.ReplicaWait). True at once when no replica is waited for."""
        if self._wait is None:
            return True
        barrier = event_keys(event_id).barrier
        with translated():
            await self._topology.ready()
            replies = await exchange(self._topology.route(barrier), self._wait.commands(barrier))
        return self._wait.confirms(replies)

    async def _read(self, event_id: str, winners: bool) -> list[Any]:
        """The stamp's meta fields, the stock, the winners (or only their count) and the
        fence, at once."""
        keys = event_keys(event_id)
        with translated():
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hmget(keys.meta, ["created_at", "ends_at", "archived"])
                pipe.get(keys.stock)
                if winners:
                    pipe.hgetall(keys.participants)
                else:
                    pipe.hlen(keys.participants)
                pipe.exists(keys.fence)
                found: list[Any] = await pipe.execute()
        return found

    async def sold_out(self, max_winners: int) -> list[Stamp]:
        """The stamps of every live sold-out event with at most ``max_winners`` winners:
        one transaction per event (each on its own slot), a few at a time, so that the
        client's pool is never exhausted. Past events are not live: not read at all."""
        with translated():
            ids = sorted(e for e, _ in await live.members(self._redis))
        stamps: list[Stamp | None] = []
        for start in range(0, len(ids), _AT_ONCE):
            chunk = ids[start : start + _AT_ONCE]
            stamps += await asyncio.gather(*(self.stamp(e) for e in chunk))
        return [s for s in stamps if s is not None and s.sold_out and s.winners <= max_winners]


def _now_ms() -> int:
    # The app's clock: a window's end is compared with it as with the gateway's lease.
    return int(time.time() * 1000)


class Fence:
    def __init__(self, redis: RedisClient, wait_s: float) -> None:
        self._redis = redis
        self._wait_s = wait_s

    @asynccontextmanager
    async def held(self, event_id: str) -> AsyncIterator[None]:
        """Fence the event, wait out the lease, run the block, lift the fence."""
        key = event_keys(event_id).fence
        with translated():
            await self._redis.set(key, "1", ex=_FENCE_TTL_S)
        await asyncio.sleep(self._wait_s)
        try:
            yield
        finally:
            with translated():
                await self._redis.delete(key)
