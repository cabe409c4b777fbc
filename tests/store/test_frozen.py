"""Sold-out stamps and the fence against a real Redis."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from couponrush.core.event import Event
from couponrush.store.events import EventStore
from couponrush.store.frozen import Fence, FrozenStore
from couponrush.store.keys import event_keys
from couponrush.store.scripts import Scripts


async def sold_out_event(redis: Redis, scripts: Scripts, event_id: str, winners: int) -> None:
    await EventStore(redis, scripts).create(Event(event_id, event_id, winners, None, None))
    keys = event_keys(event_id)
    await redis.hset(keys.participants, mapping={f"w{i}": f"{i + 1}:1" for i in range(winners)})
    await redis.set(keys.stock, 0)


async def test_the_feed_lists_many_sold_out_events_with_a_small_pool(
    redis_url: str, redis: Redis, scripts: Scripts, event_id: str
) -> None:
    ids = [f"{event_id}-{i}" for i in range(40)]
    for e in ids:
        await sold_out_event(redis, scripts, e, 2)
    small = Redis.from_url(redis_url, decode_responses=True, max_connections=4)
    try:
        listed = {s.event_id: s for s in await FrozenStore(small).sold_out(max_winners=10)}
        assert set(ids) <= set(listed)
        assert not set(ids) & {s.event_id for s in await FrozenStore(small).sold_out(1)}
    finally:
        await small.aclose()


async def test_a_restore_like_write_changes_the_stamp_and_the_fence_hides_the_event(
    redis: Redis, scripts: Scripts, event_id: str
) -> None:
    await sold_out_event(redis, scripts, event_id, 3)
    store = FrozenStore(redis)
    before = await store.stamp(event_id)
    frozen = await store.frozen(event_id)
    assert before is not None
    assert before.sold_out
    assert frozen is not None
    assert set(frozen.winners) == {"w0", "w1", "w2"}
    started = time.monotonic()
    async with Fence(redis, 0.2).held(event_id):
        assert time.monotonic() - started >= 0.2  # the lease was waited out first
        fenced = await store.stamp(event_id)
        assert fenced is not None
        assert not fenced.sold_out
        assert await store.frozen(event_id) is None
        await redis.hset(event_keys(event_id).meta, "created_at", "2")  # the write
    after = await store.stamp(event_id)
    assert after is not None
    assert after.sold_out
    assert after.fingerprint != before.fingerprint
