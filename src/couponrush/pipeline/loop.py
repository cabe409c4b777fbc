"""The loop the consumer and the relay share: fetch a batch, act on it, acknowledge it.

An entry that does not parse goes to the dead letters; the rest go to ``act``; the whole
batch is acknowledged only after ``act`` returned, so a crash anywhere in between leaves
it to be fetched again (at-least-once). Transient failures are retried in place.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from couponrush.core.letters import Letter
from couponrush.core.ports import DeadLetterSink, Delivery, Source
from couponrush.pipeline.metrics import PipelineMetrics
from couponrush.pipeline.retry import retrying

T = TypeVar("T")
Act = Callable[[Sequence[Delivery]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class RetryBudget:
    """How long transient failures are retried, and the cap of one backoff."""

    for_s: float
    cap_s: float


@dataclass
class BatchLoop:
    source: Source
    dead_letters: DeadLetterSink
    metrics: PipelineMetrics
    budget: RetryBudget
    # Who set the letter aside, as the dead-letter entry records it.
    role: str

    async def run(self, act: Act, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.step(act)

    async def step(self, act: Act) -> int:
        """One batch, start to acknowledgement; the number of messages it held."""
        batch = await self.retry(self.source.fetch, "fetch")
        self.metrics.readiness.mark("source")
        if not batch:
            return 0
        good = []
        for d in batch:
            if d.win is None:
                await self.dead_letter(d, "parse", d.error or "unparsable", 1)
            else:
                good.append(d)
        if good:
            await act(good)
        await self.retry(lambda: self.source.ack(batch), "ack")
        self.metrics.acknowledged.inc(len(batch))
        return len(batch)

    async def dead_letter(self, d: Delivery, kind: str, reason: str, attempts: int) -> None:
        letter = Letter(d.event_id, d.payload, kind, reason, attempts, self.role)
        await self.retry(lambda: self.dead_letters.put(letter), "dlq")
        self.metrics.dead_letters.labels(kind).inc()

    async def retry(self, op: Callable[[], Awaitable[T]], stage: str) -> T:
        return await retrying(op, stage, self.metrics, self.budget.for_s, self.budget.cap_s)
