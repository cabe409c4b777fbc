"""What the metrics read from Redis, against a real Redis and real outbox streams."""

from __future__ import annotations

from redis.asyncio import Redis

from couponrush.store import live, stats
from couponrush.store.keys import event_keys
from couponrush.store.outbox import StreamSource
from couponrush.store.scripts import Scripts
from tests.store.test_lua import create, issue


async def test_stock_winners_and_the_backlog_of_one_group(
    redis: Redis, scripts: Scripts, event_id: str
) -> None:
    quiet, busy = f"{event_id}-quiet", f"{event_id}-busy"
    for name, stock in ((quiet, 3), (busy, 5)):
        await create(redis, scripts, name, stock)
        await live.enlist(redis, name)
    for user in ("a", "b", "c", "d"):
        await issue(redis, scripts, busy, user)
    source = StreamSource(redis, "g1", "m1", batch=3, block_ms=10, reclaim_idle_ms=60_000)
    assert {s.event_id: s.backlog for s in await stats.event_stats(redis, "g1", [quiet, busy])} == {
        quiet: 0,
        busy: 4,
    }
    # Some read (pending), the rest unread; the session's Redis has other events' streams.
    taken = [d for d in await source.fetch() if d.event_id == busy]
    assert taken
    got = await stats.event_stats(redis, "g1", [busy, f"{event_id}-none"])
    assert got == [stats.EventStats(busy, 5, 1, 4, 4)]
    assert (await stats.event_stats(redis, "other", [busy]))[0].backlog == 4
    await source.ack(taken)
    assert (await stats.event_stats(redis, "g1", [busy]))[0].backlog == 4 - len(taken)
    await source.ack(await source.fetch())
    assert (await stats.event_stats(redis, "g1", [busy]))[0].backlog == 0
    assert {quiet, busy} <= set(await stats.event_ids(redis, 100_000))


async def test_backlog_when_redis_cannot_tell_the_lag(
    redis: Redis, scripts: Scripts, event_id: str
) -> None:
    await create(redis, scripts, event_id, 5)
    for user in ("a", "b", "c"):
        await issue(redis, scripts, event_id, user)
    outbox = event_keys(event_id).outbox
    await redis.xgroup_create(outbox, "g1", id="0")
    last: list[tuple[str, dict[str, str]]] = await redis.xrange(outbox, count=3)  # type: ignore[assignment]
    await redis.xdel(outbox, last[1][0])  # a deletion inside the unread part: lag unknown
    assert (await stats.event_stats(redis, "g1", [event_id]))[0].backlog == 2


async def test_reconcile_records_and_dead_letter_depth(redis: Redis, event_id: str) -> None:
    before = await stats.dead_letter_depth(redis)
    await redis.xadd("coupon:dlq", {"event_id": event_id})
    assert await stats.dead_letter_depth(redis) == before + 1
    await stats.record_reconcile(redis, event_id, {"missing_in_db": 2})
    (record,) = await stats.reconcile_records(redis, [event_id, f"{event_id}-never"])
    assert (record.event_id, record.breaches) == (event_id, {"missing_in_db": 2})
    assert await stats.reconcile_records(redis, []) == []
