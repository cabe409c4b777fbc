"""The Redis outbox streams of every event as a source, read through one consumer group.

Used by the consumer in stream mode and by the relay in Kafka mode (each its own group).
Each event's stream lives in its event's slot, so one XREADGROUP cannot span them in a
Cluster: a sweep sends one non-blocking XREADGROUP per stream, one pipeline per primary,
the primaries side by side; an empty sweep backs off up to ``block_ms``.

With replicas, each pipeline ends with a WAIT, and entries are handed on only once the
replicas hold them: an entry persisted from a primary that then failed over before
replicating it would be a row Redis forgot, whose slot the new primary hands out again.
Entries read but not confirmed stay in this member's pending list and are claimed again
(XCLAIM, itself replicated, so the next WAIT covers them) until confirmed.

Entries a dead member left pending are taken over with XAUTOCLAIM once idle for
``reclaim_idle_ms``; a stream is trimmed only below what every group has acknowledged.

Only the live events' streams are read (store.live): the sweep grows with the sales that
are open or just finished, never with past ones. Every few seconds the source also does
the index's housekeeping (``live.retire``): a finished event leaves once its outbox is
drained and ``linger_ms`` have passed.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import structlog
from redis.exceptions import MovedError, ResponseError

from couponrush.core.ports import Delivery
from couponrush.store import live
from couponrush.store.client import RedisClient, translated
from couponrush.store.keys import event_keys
from couponrush.store.nodes import ReplicaWait, Route, Topology, exchange
from couponrush.store.streams import delivery, entries_of, ref_of, stream_gone, trim_acknowledged

log = structlog.get_logger(__name__)
# How often the event set is re-read; faster while some event has no outbox stream yet,
# so that the first wins of a sale that just opened do not wait for the next look.
_REFRESH_S = 0.25
_WAITING_REFRESH_S = 0.05
_TRIM_EVERY_S = 1.0
_RETIRE_EVERY_S = 5.0
_FIRST_IDLE_S = 0.002
# Fewest entries asked of one stream per sweep, however many streams are busy.
_MIN_COUNT = 16


class StreamSource:
    name = "stream"

    def __init__(
        self,
        redis: RedisClient,
        group: str,
        consumer: str,
        batch: int,
        block_ms: int,
        reclaim_idle_ms: int,
        wait: ReplicaWait | None = None,
        linger_ms: int | None = None,
    ) -> None:
        """``linger_ms``: retire finished events that long after they finished (None:
        leave the index alone)."""
        self._redis = redis
        self._topology = Topology(redis)
        self._group, self._consumer, self._wait = group, consumer, wait
        self._batch, self._block_s, self._idle_ms = batch, block_ms / 1000, reclaim_idle_ms
        self._streams: list[str] = []
        self._grouped: set[str] = set()
        # stream -> ids read but not yet confirmed on the replicas
        self._unconfirmed: dict[str, list[str]] = {}
        self._waiting = False
        self._busy = 1
        self._idle_s = _FIRST_IDLE_S
        self._refreshed = self._reclaimed = self._trimmed = self._retired = 0.0
        self._linger_ms = linger_ms
        self._adopted = False

    async def fetch(self) -> list[Delivery]:
        with translated():
            return await self._fetch()

    async def _fetch(self) -> list[Delivery]:
        now = time.monotonic()
        if now - self._refreshed >= (_WAITING_REFRESH_S if self._waiting else _REFRESH_S):
            await self._refresh()
        if not self._streams:
            await asyncio.sleep(self._block_s)
            return []
        if now - self._reclaimed >= self._idle_ms / 2000:
            reclaimed = await self._reclaim()
            if reclaimed:
                return reclaimed
            self._reclaimed = now
        found = await self._sweep()
        if found:
            self._idle_s = _FIRST_IDLE_S
        else:
            await asyncio.sleep(self._idle_s)
            self._idle_s = min(self._block_s, self._idle_s * 2)
        return found

    async def _refresh(self) -> None:
        if self._linger_ms is not None and time.monotonic() - self._retired >= _RETIRE_EVERY_S:
            await self._housekeeping(self._linger_ms)
        streams = sorted(event_keys(e).outbox for e, _ in await live.members(self._redis))
        kept = set(streams)
        self._grouped &= kept
        self._unconfirmed = {s: ids for s, ids in self._unconfirmed.items() if s in kept}
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

    async def _housekeeping(self, linger_ms: int) -> None:
        if not self._adopted:
            self._adopted = True
            adopted = await live.adopt_legacy(self._redis)
            if adopted:
                log.info("live_index_adopted", events=adopted)
        retired = await live.retire(self._redis, linger_ms)
        if retired:
            log.info("events_retired", events=len(retired), first=retired[0])
        self._retired = time.monotonic()

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

    async def _sweep(self) -> list[Delivery]:
        await self._topology.ready()
        by_route: dict[Route, list[str]] = defaultdict(list)
        for stream in self._streams:
            by_route[self._topology.route(stream)].append(stream)
        parts = await asyncio.gather(
            *(self._read(route, streams) for route, streams in by_route.items()),
            return_exceptions=True,
        )
        found = [d for part in parts if not isinstance(part, BaseException) for d in part]
        failed = [part for part in parts if isinstance(part, BaseException)]
        if failed:
            self._topology.lost()
            if not found:  # else hand on what came: the failed primary's turn comes again
                raise failed[0]
        self._busy = max(1, len({ref_of(d)[0] for d in found}))
        return found

    async def _read(self, route: Route, streams: list[str]) -> list[Delivery]:
        count = max(_MIN_COUNT, self._batch // self._busy)
        group, me = self._group, self._consumer
        commands: list[tuple[Any, ...]] = [
            ("XCLAIM", s, group, me, 0, *self._unconfirmed[s])
            if s in self._unconfirmed
            else ("XREADGROUP", "GROUP", group, me, "COUNT", count, "STREAMS", s, ">")
            for s in streams
        ]
        if self._wait is not None:
            commands.append(self._wait.command)
        replies = await exchange(route, commands)
        confirmed = self._wait is None or self._wait.confirmed(replies.pop())
        found: list[Delivery] = []
        for stream, reply in zip(streams, replies, strict=True):
            if isinstance(reply, Exception):
                await self._failed(stream, reply)
                continue
            entries = entries_of(stream, reply)
            if confirmed:
                self._unconfirmed.pop(stream, None)
                found += [delivery(stream, eid, fields) for eid, fields in entries]
            elif entries:
                self._unconfirmed[stream] = [eid for eid, _ in entries]
        return found

    async def _failed(self, stream: str, error: Exception) -> None:
        if isinstance(error, MovedError):
            await self._topology.moved(error)
        elif stream_gone(error):
            # The stream was deleted (flush, restore), perhaps written again: group it afresh.
            self._grouped.discard(stream)
            self._unconfirmed.pop(stream, None)
            self._refreshed = 0.0
        else:
            raise error

    async def _reclaim(self) -> list[Delivery]:
        out: list[Delivery] = []
        for stream in self._streams:
            try:
                reply: Any = await self._redis.xautoclaim(
                    stream, self._group, self._consumer, self._idle_ms, "0-0", count=self._batch
                )
            except ResponseError as exc:
                if not stream_gone(exc):
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
            stream, entry_id = ref_of(d)
            by_stream[stream].append(entry_id)
        with translated():
            async with self._redis.pipeline(transaction=False) as pipe:
                for stream, ids in by_stream.items():
                    pipe.xack(stream, self._group, *ids)
                await pipe.execute()
            if time.monotonic() - self._trimmed >= _TRIM_EVERY_S:
                for stream in by_stream:
                    await trim_acknowledged(self._redis, stream)
                self._trimmed = time.monotonic()

    async def close(self) -> None:
        await self._topology.aclose()
