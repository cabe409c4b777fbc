"""The Redis outbox streams of every event as a source, read through one consumer group.

Used by the consumer in stream mode and by the relay in Kafka mode (each its own group).
Entries a dead member left pending are taken over with XAUTOCLAIM once idle for
``reclaim_idle_ms``; a stream is trimmed only below what every group has acknowledged.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from couponrush.core.errors import BadMessage
from couponrush.core.ports import Delivery
from couponrush.core.win import Win, parse_entry
from couponrush.store.keys import EVENTS, event_keys, event_of

# How often the event set is re-read; faster while some event has no outbox stream yet,
# so that the first wins of a sale that just opened do not wait for the next look.
_REFRESH_S = 0.25
_WAITING_REFRESH_S = 0.05
_TRIM_EVERY_S = 1.0


def delivery(stream: str, entry_id: str, fields: dict[str, str] | None) -> Delivery:
    event_id, payload = event_of(stream), dict(fields or {})
    try:
        return Delivery((stream, entry_id), event_id, payload, parse_entry(event_id, payload))
    except BadMessage as exc:
        return Delivery((stream, entry_id), event_id, payload, None, str(exc))


class StreamSource:
    name = "stream"

    def __init__(self, redis: Redis, group: str, consumer: str, batch: int, block_ms: int,
                 reclaim_idle_ms: int) -> None:  # fmt: skip
        self._redis = redis
        self._group, self._consumer = group, consumer
        self._batch, self._block_ms, self._idle_ms = batch, block_ms, reclaim_idle_ms
        self._streams: list[str] = []
        self._grouped: set[str] = set()
        self._waiting = False
        self._refreshed = self._reclaimed = self._trimmed = 0.0

    async def fetch(self) -> list[Delivery]:
        now = time.monotonic()
        if now - self._refreshed >= (_WAITING_REFRESH_S if self._waiting else _REFRESH_S):
            await self._refresh()
        if not self._streams:
            await asyncio.sleep(self._block_ms / 1000)
            return []
        if now - self._reclaimed >= self._idle_ms / 2000:
            reclaimed = await self._reclaim()
            if reclaimed:
                return reclaimed
            self._reclaimed = now
        return await self._read()

    async def _refresh(self) -> None:
        events: Any = await self._redis.smembers(EVENTS)
        streams = [event_keys(str(e)).outbox for e in sorted(events)]
        ungrouped = [s for s in streams if s not in self._grouped]
        if ungrouped:
            async with self._redis.pipeline(transaction=False) as pipe:
                for stream in ungrouped:
                    pipe.exists(stream)
                present: list[Any] = await pipe.execute()
            for stream, exists in zip(ungrouped, present, strict=True):
                if exists:
                    await self._create_group(stream)
        self._streams = [s for s in streams if s in self._grouped]
        self._waiting = len(self._streams) < len(streams)
        self._refreshed = time.monotonic()

    async def _create_group(self, stream: str) -> None:
        """From the stream's first entry; an event with no win yet has no stream: later.

        No MKSTREAM: creating the outbox key would make create_event.lua refuse the event.
        """
        try:
            await self._redis.xgroup_create(stream, self._group, id="0")
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                if "key to exist" in str(exc):
                    return
                raise
        self._grouped.add(stream)

    async def _read(self) -> list[Delivery]:
        try:
            reply: Any = await self._redis.xreadgroup(
                self._group, self._consumer, dict.fromkeys(self._streams, ">"),
                count=self._batch, block=self._block_ms,
            )  # fmt: skip
        except ResponseError as exc:
            if not _stream_gone(exc):
                raise
            # A stream was deleted (flush, restore), perhaps written again: group it afresh.
            self._grouped.clear()
            self._refreshed = 0.0
            return []
        return [delivery(stream, eid, fields) for stream, entries in reply or []
                for eid, fields in entries]  # fmt: skip

    async def _reclaim(self) -> list[Delivery]:
        out: list[Delivery] = []
        for stream in self._streams:
            try:
                reply: Any = await self._redis.xautoclaim(
                    stream, self._group, self._consumer, self._idle_ms, "0-0", count=self._batch
                )
            except ResponseError as exc:
                if not _stream_gone(exc):
                    raise
                self._grouped.discard(stream)
                continue
            out += [delivery(stream, eid, fields) for eid, fields in reply[1] if fields]
            if len(out) >= self._batch:
                break
        return out

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        by_stream: dict[str, list[str]] = defaultdict(list)
        for d in deliveries:
            stream, entry_id = _ref(d)
            by_stream[stream].append(entry_id)
        async with self._redis.pipeline(transaction=False) as pipe:
            for stream, ids in by_stream.items():
                pipe.xack(stream, self._group, *ids)
            await pipe.execute()
        if time.monotonic() - self._trimmed >= _TRIM_EVERY_S:
            for stream in by_stream:
                await trim_acknowledged(self._redis, stream)
            self._trimmed = time.monotonic()

    async def close(self) -> None:
        return None


def _stream_gone(exc: ResponseError) -> bool:
    return str(exc).startswith(("NOGROUP", "UNBLOCKED"))


def _ref(d: Delivery) -> tuple[str, str]:
    ref: Any = d.ref
    return str(ref[0]), str(ref[1])


async def trim_acknowledged(redis: Redis, stream: str) -> None:
    """Drop entries below the oldest one some group has not acknowledged yet."""
    groups: Any = await redis.xinfo_groups(stream)
    floor: str | None = None
    for group in groups:
        low = str(group["last-delivered-id"])
        if int(group["pending"]) > 0:
            summary: Any = await redis.xpending(stream, group["name"])
            low = str(summary["min"])
        floor = low if floor is None or _id(low) < _id(floor) else floor
    if floor is not None and floor != "0-0":
        await redis.xtrim(stream, minid=floor, approximate=False)


def _id(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


async def requeue(redis: Redis, event_id: str, wins: Sequence[Win]) -> None:
    """Append wins to the event's outbox again (the consumer's insert absorbs repeats)."""
    outbox = event_keys(event_id).outbox
    async with redis.pipeline(transaction=False) as pipe:
        for win in wins:
            pipe.xadd(outbox, win.outbox_fields())  # type: ignore[arg-type]
        await pipe.execute()
