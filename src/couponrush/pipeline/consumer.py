"""Queued wins -> PostgreSQL: one multi-row insert per batch, acknowledged after commit.

At-least-once delivery plus an idempotent insert gives an exactly-once effect. A message
that will never go through (bad payload, unknown event, a win the database contradicts)
goes to the dead-letter stream and is then acknowledged: never dropped silently, never
blocking the rest. Transient failures are retried with the batch held unacknowledged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import structlog
from redis.asyncio import Redis

from couponrush.codes import CodeSigner
from couponrush.db import repo
from couponrush.keys import event_keys
from couponrush.pipeline.dlq import DeadLetters
from couponrush.pipeline.failures import classify
from couponrush.pipeline.meta import coupon_from_meta
from couponrush.pipeline.metrics import PipelineMetrics
from couponrush.pipeline.model import Win, conflict_reason
from couponrush.pipeline.retry import retrying
from couponrush.pipeline.source import Delivery, Source

log = structlog.get_logger(__name__)
T = TypeVar("T")
Pair = tuple[Delivery, Win]


@dataclass
class Consumer:
    source: Source
    pool: Any
    redis: Redis
    dlq: DeadLetters
    signer: CodeSigner
    metrics: PipelineMetrics
    retry_for_s: float
    retry_cap_s: float
    _known: set[str] = field(default_factory=set)

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.step()

    async def step(self) -> int:
        """One batch, start to acknowledgement; the number of messages it held."""
        batch = await self._retry(self.source.fetch, "fetch")
        if not batch:
            return 0
        pairs: list[Pair] = []
        for d in batch:
            if d.win is None:
                await self._dead_letter(d, "parse", d.error or "unparsable", 1)
            else:
                pairs.append((d, d.win))
        pairs = await self._known_events(pairs)
        if pairs:
            await self._write(pairs)
        await self._retry(lambda: self.source.ack(batch), "ack")
        return len(batch)

    async def _known_events(self, pairs: list[Pair]) -> list[Pair]:
        """Drop (to the DLQ) wins of events with no coupons row and no Redis meta either.

        An event created before its coupons row existed gets one from its Redis meta.
        """
        new = sorted({w.event_id for _, w in pairs} - self._known)
        if new:
            self._known |= await self._retry(
                lambda: adopt_events(self.redis, self.pool, new), "events"
            )
        keep = [(d, w) for d, w in pairs if w.event_id in self._known]
        for d, w in pairs:
            if w.event_id not in self._known:
                await self._dead_letter(d, "unknown_event", f"no event {w.event_id!r}", 1)
        return keep

    async def _write(self, pairs: Sequence[Pair]) -> None:
        wins = [w for _, w in pairs]
        codes = [self.signer.code(w.event_id, w.slot, w.user_id) for w in wins]
        attempts = 0

        async def insert() -> dict[Win, list[Any]]:
            nonlocal attempts
            attempts += 1
            return await repo.insert_wins(self.pool, wins, codes)

        try:
            skipped = await self._retry(insert, "write")
        except Exception as exc:
            if classify(exc) != "permanent":
                raise  # out of retry time, or a bug: exit unacknowledged, a restart redoes it
            await self._isolate(pairs, exc, attempts)
            return
        self.metrics.rows.inc(len(wins) - len(skipped))
        by_win = dict((w, d) for d, w in pairs)
        for win, existing in skipped.items():
            reason = conflict_reason(win, existing)
            if reason is None:
                self.metrics.redelivered.inc()
            else:
                log.error("integrity_conflict", event_id=win.event_id, reason=reason)
                await self._dead_letter(by_win[win], "conflict", reason, attempts)

    async def _isolate(self, pairs: Sequence[Pair], exc: Exception, attempts: int) -> None:
        """The database refused the batch for good: find the rows it refuses, one by one."""
        if len(pairs) == 1:
            await self._dead_letter(pairs[0][0], "rejected", repr(exc), attempts)
            return
        for pair in pairs:
            await self._write([pair])

    async def _dead_letter(self, d: Delivery, kind: str, reason: str, attempts: int) -> None:
        name = self.source.name
        await self._retry(lambda: self.dlq.put(d.event_id, d.payload, kind, reason, attempts,
                                               name), "dlq")  # fmt: skip
        self.metrics.dead_letters.labels(kind).inc()

    async def _retry(self, op: Callable[[], Awaitable[T]], stage: str) -> T:
        return await retrying(op, stage, self.metrics, self.retry_for_s, self.retry_cap_s)


async def adopt_events(redis: Redis, pool: Any, event_ids: list[str]) -> set[str]:
    """The ids the database knows, after giving a coupons row to those only Redis knew."""
    known = await repo.known_events(pool, event_ids)
    rows = []
    for event_id in sorted(set(event_ids) - known):
        meta: Any = await redis.hgetall(event_keys(event_id).meta)
        row = coupon_from_meta(event_id, meta)
        if row is not None:
            rows.append(row)
    if rows:
        await repo.ensure_coupons(pool, rows)
    return known | {r.event_id for r in rows}
