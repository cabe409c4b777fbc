"""What the metrics read from Redis: per-event stock, winners and outbox backlog, the
dead-letter depth, and the last reconcile of each event.

Every Redis read of the metrics lives here, so that a cluster-aware version (one pipeline
per node) replaces these functions and nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from couponrush.store import live
from couponrush.store.client import RedisClient
from couponrush.store.keys import DLQ, RECONCILE, event_keys

# Entries counted one by one when Redis cannot tell a group's lag (after deletions).
_LAG_SCAN_MAX = 10_000


@dataclass(frozen=True, slots=True)
class EventStats:
    event_id: str
    total: int
    remaining: int
    issued: int
    # Outbox entries the group has not acknowledged yet (read or not).
    backlog: int


@dataclass(frozen=True, slots=True)
class ReconcileRecord:
    event_id: str
    at_ms: int
    breaches: dict[str, int]


async def event_ids(redis: RedisClient, limit: int) -> list[str]:
    """The ``limit`` newest live events (a bound on the metrics' series): a new sale is
    always among them, and past sales never are."""
    return await live.newest(redis, limit)


async def event_stats(redis: RedisClient, group: str, events: Sequence[str]) -> list[EventStats]:
    """Stock, winners and ``group``'s backlog of each event, in one round trip."""
    async with redis.pipeline(transaction=False) as pipe:
        for event_id in events:
            keys = event_keys(event_id)
            pipe.hget(keys.meta, "total")
            pipe.get(keys.stock)
            pipe.hlen(keys.participants)
            pipe.xlen(keys.outbox)
            pipe.xinfo_groups(keys.outbox)
        replies: list[Any] = await pipe.execute(raise_on_error=False)
    found = []
    for i, event_id in enumerate(events):
        total, stock, issued, length, groups = replies[5 * i : 5 * i + 5]
        if total is None or isinstance(total, Exception):
            continue  # no meta (yet, or any more): not an event to show
        backlog = await _backlog(redis, event_keys(event_id).outbox, group, length, groups)
        found.append(
            EventStats(event_id, int(total), max(0, int(stock or 0)), int(issued), backlog)
        )
    return found


async def _backlog(redis: RedisClient, stream: str, group: str, length: Any, groups: Any) -> int:
    if isinstance(groups, Exception) or not length:
        return 0  # no outbox stream: no win yet
    info = next((g for g in groups if g["name"] == group), None)
    if info is None:
        return int(length)  # nobody of the group has read this stream yet
    if info.get("lag") is not None:
        return int(info["lag"]) + int(info["pending"])
    newer: Any = await redis.xrange(
        stream, min=f"({info['last-delivered-id']}", max="+", count=_LAG_SCAN_MAX
    )
    return len(newer) + int(info["pending"])


async def dead_letter_depth(redis: RedisClient) -> int:
    return int(await redis.xlen(DLQ))


async def record_reconcile(
    redis: RedisClient, event_id: str, breaches: dict[str, int]
) -> ReconcileRecord:
    """Keep the outcome of a reconcile of ``event_id`` for the metrics (and alerts)."""
    record = ReconcileRecord(event_id, int(time.time() * 1000), breaches)
    value = orjson.dumps({"at": record.at_ms, "breaches": breaches})
    await redis.hset(RECONCILE, event_id, value)
    return record


async def reconcile_records(redis: RedisClient, events: Sequence[str]) -> list[ReconcileRecord]:
    if not events:
        return []
    raw: Any = await redis.hmget(RECONCILE, list(events))
    found = []
    for event_id, value in zip(events, raw, strict=True):
        if value is not None:
            doc = orjson.loads(value)
            found.append(ReconcileRecord(event_id, int(doc["at"]), dict(doc["breaches"])))
    return found
