"""The live index against a real Redis: which events the sweeps read, and when a finished
event leaves them (only once its outbox is drained)."""

from __future__ import annotations

from redis.asyncio import Redis

from couponrush.store import live
from couponrush.store.keys import LEGACY_EVENTS, LIVE, event_keys
from couponrush.store.outbox import StreamSource
from couponrush.store.scripts import Scripts
from tests.store.test_lua import create, issue


async def _in_index(redis: Redis, *event_ids: str) -> list[bool]:
    return [await redis.zscore(LIVE, e) is not None for e in event_ids]


async def test_finished_drained_events_leave_and_the_rest_stay(
    redis: Redis, scripts: Scripts, event_id: str
) -> None:
    sold, undrained, running, ghost = (f"{event_id}-{n}" for n in ("sold", "undrained", "on", "x"))
    for name in (sold, undrained, running):
        await create(redis, scripts, name, 1 if name != running else 5)
        await live.enlist(redis, name)
    await live.enlist(redis, ghost, at_ms=1)  # listed long ago by a create that failed
    for name in (sold, undrained, running):
        await issue(redis, scripts, name, "u1")
    source = StreamSource(redis, "g1", "m1", batch=100, block_ms=10, reclaim_idle_ms=60_000)
    got = await source.fetch()
    await source.ack([d for d in got if d.event_id != undrained])  # one stays pending
    await live.retire(redis, linger_ms=0)
    assert await _in_index(redis, sold, undrained, running, ghost) == [False, True, True, False]
    assert await live.retire(redis, linger_ms=60_000) == []  # a recent finish lingers
    await source.ack([d for d in got if d.event_id == undrained])
    assert undrained in await live.retire(redis, linger_ms=0)
    # A top-up (or any write that can bring wins) enlists the event again.
    await live.enlist(redis, sold)
    assert await live.newest(redis, 1) == [sold]


async def test_an_archived_event_leaves_at_once_once_drained(
    redis: Redis, scripts: Scripts, event_id: str
) -> None:
    await create(redis, scripts, event_id, 5)
    await live.enlist(redis, event_id)
    await redis.hset(event_keys(event_id).meta, "archived", "1")
    assert await live.retire(redis, linger_ms=3_600_000) == [event_id]


async def test_the_sweep_reads_only_live_events(
    redis: Redis, scripts: Scripts, event_id: str
) -> None:
    past, now = f"{event_id}-past", f"{event_id}-now"
    for name in (past, now):
        await create(redis, scripts, name, 3)
        await issue(redis, scripts, name, "u1")
    await live.enlist(redis, now)
    source = StreamSource(redis, "g-live", "m1", batch=100, block_ms=10, reclaim_idle_ms=60_000)
    events = {d.event_id for d in await source.fetch()}
    assert now in events
    assert past not in events


async def test_the_set_the_index_replaced_is_adopted_once(
    redis: Redis, scripts: Scripts, event_id: str
) -> None:
    await create(redis, scripts, event_id, 3)
    await redis.sadd(LEGACY_EVENTS, event_id)
    assert await live.adopt_legacy(redis) >= 1
    assert await redis.exists(LEGACY_EVENTS) == 0
    score = await redis.zscore(LIVE, event_id)
    assert score == 1  # its created_at, as create() in test_lua writes it
    assert await live.adopt_legacy(redis) == 0
