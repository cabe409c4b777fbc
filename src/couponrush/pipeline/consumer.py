"""Queued wins -> PostgreSQL: one multi-row insert per batch, acknowledged after commit.

At-least-once delivery plus an idempotent insert gives an exactly-once effect. A message
that will never go through (bad payload, unknown event, a win the database contradicts)
goes to the dead-letter stream and is then acknowledged: never dropped silently, never
blocking the rest. Transient failures are retried with the batch held unacknowledged.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog

from couponrush.core.codes import CodeSigner
from couponrush.core.ports import Delivery, EventCatalog, WinRepository
from couponrush.core.win import Win, conflict_reason
from couponrush.pipeline.failures import classify
from couponrush.pipeline.loop import BatchLoop

log = structlog.get_logger(__name__)


@dataclass
class Consumer:
    loop: BatchLoop
    repository: WinRepository
    catalog: EventCatalog
    signer: CodeSigner
    _known: set[str] = field(default_factory=set)

    async def run(self, stop: asyncio.Event) -> None:
        await self.loop.run(self.write, stop)

    async def step(self) -> int:
        return await self.loop.step(self.write)

    async def write(self, batch: Sequence[Delivery]) -> None:
        known = await self._known_events(batch)
        if known:
            await self._write(known)

    async def _known_events(self, batch: Sequence[Delivery]) -> list[Delivery]:
        """Dead-letter wins of events with no coupons row and no Redis meta either.

        An event created before its coupons row existed gets one from its Redis meta.
        """
        new = sorted({d.event_id for d in batch} - self._known)
        if new:
            self._known |= await self.loop.retry(lambda: self._adopt(new), "events")
        for d in batch:
            if d.event_id not in self._known:
                await self.loop.dead_letter(d, "unknown_event", f"no event {d.event_id!r}", 1)
        return [d for d in batch if d.event_id in self._known]

    async def _adopt(self, event_ids: list[str]) -> set[str]:
        return await adopt_events(self.repository, self.catalog, event_ids)

    async def _write(self, batch: Sequence[Delivery]) -> None:
        wins = [_win(d) for d in batch]
        codes = [self.signer.code(w.event_id, w.slot, w.user_id) for w in wins]
        attempts = 0

        async def insert() -> dict[Win, list[Any]]:
            nonlocal attempts
            attempts += 1
            return await self.repository.insert_wins(wins, codes)

        try:
            skipped = await self.loop.retry(insert, "write")
        except Exception as exc:
            if classify(exc) != "permanent":
                raise  # out of retry time, or a bug: exit unacknowledged, a restart redoes it
            await self._isolate(batch, exc, attempts)
            return
        metrics = self.loop.metrics
        metrics.rows.inc(len(wins) - len(skipped))
        metrics.lag.set(time.time() - max(w.issued_at_ms for w in wins) / 1000)
        by_win = {_win(d): d for d in batch}
        for win, existing in skipped.items():
            reason = conflict_reason(win, existing)
            if reason is None:
                metrics.redelivered.inc()
            else:
                log.error("integrity_conflict", event_id=win.event_id, reason=reason)
                await self.loop.dead_letter(by_win[win], "conflict", reason, attempts)

    async def _isolate(self, batch: Sequence[Delivery], exc: Exception, attempts: int) -> None:
        """The database refused the batch for good: find the rows it refuses, one by one."""
        if len(batch) == 1:
            await self.loop.dead_letter(batch[0], "rejected", repr(exc), attempts)
            return
        for d in batch:
            await self._write([d])


def _win(d: Delivery) -> Win:
    assert d.win is not None  # the loop passes on parsed deliveries only
    return d.win


async def adopt_events(
    repository: WinRepository, catalog: EventCatalog, event_ids: Sequence[str]
) -> set[str]:
    """The ids the database knows, after giving a coupons row to those only Redis knew."""
    known = await repository.known_events(event_ids)
    found = [await catalog.definition(e) for e in sorted(set(event_ids) - known)]
    events = [e for e in found if e is not None]
    if events:
        await repository.ensure_events(events)
    return known | {e.event_id for e in events}
