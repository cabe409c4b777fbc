"""The live index (``keys.LIVE``): which events the periodic readers look at.

The consumer's and the relay's sweeps, the gateways' sold-out feed and the metrics read
only the events in it, so their work follows the open and recently finished events and
never the number of past ones. Newest first: the score is the creation time.

Writers follow one order, so an event is never left out while it has wins to move:
a write that can bring new wins (create, top-up, extend, restore, repair) happens first,
then the event is enlisted (a no-op when it is there). The housekeeping (``retire``)
removes an event, then reads it again and puts it back if something came meanwhile.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from couponrush.core.season import Liveness, retirable
from couponrush.store.client import RedisClient
from couponrush.store.keys import LEGACY_EVENTS, LIVE, event_keys
from couponrush.store.streams import entry_ms

_CHUNK = 200


def now_ms() -> int:
    return int(time.time() * 1000)


async def enlist(redis: RedisClient, event_id: str, at_ms: int | None = None) -> bool:
    """Put the event in the index (keeping its place when it is there); True if it was not."""
    added: Any = await redis.zadd(LIVE, {event_id: at_ms or now_ms()}, nx=True)
    return bool(added)


async def delist(redis: RedisClient, event_id: str) -> None:
    await redis.zrem(LIVE, event_id)


async def newest(redis: RedisClient, limit: int) -> list[str]:
    """The ``limit`` most recently created live events, newest first."""
    if limit <= 0:
        return []
    found: Any = await redis.zrevrange(LIVE, 0, limit - 1)
    return [str(e) for e in found]


async def members(redis: RedisClient) -> list[tuple[str, int]]:
    """Every live event and when it was listed (ms)."""
    found: Any = await redis.zrange(LIVE, 0, -1, withscores=True)
    return [(str(e), int(score)) for e, score in found]


async def adopt_legacy(redis: RedisClient) -> int:
    """Enlist the events of the set the index replaced, then drop the set (once, after an
    upgrade); how many there were."""
    found: Any = await redis.smembers(LEGACY_EVENTS)
    ids = sorted(str(e) for e in found)
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        async with redis.pipeline(transaction=False) as pipe:
            for event_id in chunk:
                pipe.hget(event_keys(event_id).meta, "created_at")
            created: list[Any] = await pipe.execute()
        await redis.zadd(
            LIVE, {e: int(c or 0) for e, c in zip(chunk, created, strict=True)}, nx=True
        )
    if ids:
        await redis.delete(LEGACY_EVENTS)
    return len(ids)


async def liveness(redis: RedisClient, event_ids: Sequence[str]) -> list[Liveness]:
    """What ``retirable`` needs of each event, in one round trip."""
    async with redis.pipeline(transaction=False) as pipe:
        for event_id in event_ids:
            keys = event_keys(event_id)
            pipe.hmget(keys.meta, ["total", "ends_at", "archived"])
            pipe.get(keys.stock)
            pipe.xinfo_stream(keys.outbox)
            pipe.xinfo_groups(keys.outbox)
        replies: list[Any] = await pipe.execute(raise_on_error=False)
    return [_liveness(*replies[4 * i : 4 * i + 4]) for i in range(len(event_ids))]


def _liveness(meta: Any, stock: Any, stream: Any, groups: Any) -> Liveness:
    total, ends_at, archived = meta
    no_stream = isinstance(stream, Exception)
    last = None if no_stream else stream.get("last-generated-id")
    return Liveness(
        has_meta=total is not None,
        archived=archived == "1",
        ends_at_ms=int(ends_at) if ends_at else None,
        stock=None if stock is None else int(stock),
        last_win_ms=entry_ms(str(last)) if last and str(last) != "0-0" else None,
        drained=no_stream or _drained(stream, groups),
    )


def _drained(stream: Any, groups: Any) -> bool:
    if isinstance(groups, Exception) or not groups:
        return not int(stream.get("length", 0))
    return all(g.get("lag") == 0 and int(g["pending"]) == 0 for g in groups)


async def retire(redis: RedisClient, linger_ms: int) -> list[str]:
    """Remove the events that may leave the index (core.season.retirable); the ids."""
    listed = dict(await members(redis))
    ids = list(listed)
    now = now_ms()
    gone: list[str] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        states = await liveness(redis, chunk)
        gone += [
            e for e, s in zip(chunk, states, strict=True) if retirable(s, now, linger_ms, listed[e])
        ]
    if not gone:
        return []
    await redis.zrem(LIVE, *gone)
    # A writer that enlisted the event just before the removal wrote before it enlisted:
    # a second look sees what it wrote, and puts the event back.
    again = await liveness(redis, gone)
    back = {
        e: listed[e]
        for e, s in zip(gone, again, strict=True)
        if not retirable(s, now_ms(), linger_ms, listed[e])
    }
    if back:
        await redis.zadd(LIVE, back, nx=True)
    return [e for e in gone if e not in back]
