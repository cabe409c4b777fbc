"""Kafka mode: the outbox streams -> the topic, acknowledged in Redis only once delivered.

While Kafka is down the entries wait in the streams (pending or unread); issuing never
notices. Re-sending a batch part of which got through duplicates those messages on the
topic; the consumer's idempotent insert absorbs them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass

from couponrush.core.ports import Delivery, Publisher
from couponrush.core.win import Win
from couponrush.pipeline.loop import BatchLoop


@dataclass
class Relay:
    loop: BatchLoop
    publisher: Publisher

    async def run(self, stop: asyncio.Event) -> None:
        await self.loop.run(self.publish, stop)

    async def step(self) -> int:
        return await self.loop.step(self.publish)

    async def publish(self, batch: Sequence[Delivery]) -> None:
        wins: list[Win] = [d.win for d in batch if d.win is not None]
        await self.loop.retry(lambda: self.publisher.publish(wins), "produce")
        self.loop.metrics.relayed.inc(len(wins))
