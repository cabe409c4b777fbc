"""What the live dashboard reads of Redis about one event's way to the database: the
outbox stream, the consumer groups reading it, and the dead letters.

Entry ids of a stream start with the millisecond Redis added them, so the oldest entry a
group has not acknowledged tells how far behind that group is, in time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis.exceptions import ResponseError

from couponrush.store.client import RedisClient
from couponrush.store.keys import DLQ, event_keys
from couponrush.store.streams import entry_ms


@dataclass(frozen=True, slots=True)
class GroupState:
    name: str
    lag: int | None  # entries not yet delivered to the group (None: Redis cannot tell)
    pending: int  # delivered, not yet acknowledged
    last_delivered: str


@dataclass(frozen=True, slots=True)
class PipelineState:
    outbox_length: int
    dlq_depth: int
    groups: tuple[GroupState, ...]
    # The group that moves wins on (the consumer's, or the relay's in Kafka mode): its
    # backlog, and the Redis time (ms) of its oldest unacknowledged entry.
    backlog: int | None
    oldest_unacked_ms: int | None


def _group(raw: dict[str, Any]) -> GroupState:
    lag = raw.get("lag")
    return GroupState(
        str(raw["name"]),
        None if lag is None else int(lag),
        int(raw["pending"]),
        str(raw["last-delivered-id"]),
    )


async def _groups(redis: RedisClient, stream: str) -> tuple[GroupState, ...]:
    try:
        raw: Any = await redis.xinfo_groups(stream)
    except ResponseError:  # no such stream yet
        return ()
    return tuple(_group(g) for g in raw)


async def _oldest_unacked(redis: RedisClient, stream: str, group: GroupState | None) -> int | None:
    """The first entry the group still owes: its oldest pending one, else the first it
    has not been given yet (every entry when no group reads the stream)."""
    if group is not None and group.pending:
        summary: Any = await redis.xpending(stream, group.name)
        if summary.get("min"):
            return entry_ms(str(summary["min"]))
    start = f"({group.last_delivered}" if group is not None else "-"
    first: Any = await redis.xrange(stream, min=start, max="+", count=1)
    return entry_ms(first[0][0]) if first else None


async def pipeline_state(redis: RedisClient, event_id: str, reader_group: str) -> PipelineState:
    """The outbox and dead letters as ``reader_group`` (the group that moves wins on)
    sees them; a few round trips, none of them scanning the stream."""
    stream = event_keys(event_id).outbox
    async with redis.pipeline(transaction=False) as pipe:
        pipe.xlen(stream)
        pipe.xlen(DLQ)
        length, dlq = await pipe.execute()
    groups = await _groups(redis, stream) if length else ()
    reader = next((g for g in groups if g.name == reader_group), None)
    if reader is None:
        backlog: int | None = int(length)
    else:
        backlog = None if reader.lag is None else reader.lag + reader.pending
    oldest = await _oldest_unacked(redis, stream, reader) if backlog else None
    return PipelineState(int(length), int(dlq), groups, backlog, oldest)
