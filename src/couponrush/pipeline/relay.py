"""Kafka mode: the outbox streams -> the topic, acknowledged in Redis only once delivered.

The producer is idempotent with acks=all, keyed by user id so that one user's messages
stay in one partition, in order. While Kafka is down the entries wait in the streams
(pending or unread); issuing never notices.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from confluent_kafka import KafkaError, Message, Producer

from couponrush.pipeline.dlq import DeadLetters
from couponrush.pipeline.kafka import BrokerUnavailable
from couponrush.pipeline.metrics import PipelineMetrics
from couponrush.pipeline.model import Win
from couponrush.pipeline.retry import retrying
from couponrush.pipeline.source import Delivery
from couponrush.pipeline.stream_source import StreamSource

_FLUSH_S = 15.0  # above the producer's message.timeout.ms
T = TypeVar("T")


@dataclass
class Relay:
    source: StreamSource
    producer: Producer
    topic: str
    dlq: DeadLetters
    metrics: PipelineMetrics
    retry_for_s: float
    retry_cap_s: float

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self.step()

    async def step(self) -> int:
        """One batch: dead-letter what does not parse, deliver the rest, then XACK all."""
        batch = await self._retry(self.source.fetch, "fetch")
        if not batch:
            return 0
        wins: list[Win] = []
        for d in batch:
            if d.win is None:
                await self._dead_letter(d)
            else:
                wins.append(d.win)
        if wins:
            await self._retry(lambda: self._deliver(wins), "produce")
        await self._retry(lambda: self.source.ack(batch), "ack")
        self.metrics.relayed.inc(len(wins))
        return len(batch)

    async def _deliver(self, wins: list[Win]) -> None:
        """Produce the batch and wait for every delivery report; any failure -> retry all.

        Re-sending a batch part of which got through duplicates those messages on the
        topic; the consumer's idempotent insert absorbs them.
        """
        failed: list[KafkaError] = []

        def report(err: KafkaError | None, _msg: Message) -> None:
            if err is not None:
                failed.append(err)

        for win in wins:
            while True:
                try:
                    self.producer.produce(self.topic, win.to_message(), win.user_id.encode(),
                                          on_delivery=report)  # fmt: skip
                    break
                except BufferError:
                    await asyncio.to_thread(self.producer.poll, 0.1)
        left = await asyncio.to_thread(self.producer.flush, _FLUSH_S)
        if left or failed:
            reason = failed[0] if failed else f"{left} messages unconfirmed"
            raise BrokerUnavailable(f"kafka delivery failed: {reason}")

    async def _dead_letter(self, d: Delivery) -> None:
        await self._retry(
            lambda: self.dlq.put(d.event_id, d.payload, "parse", d.error or "", 1, "relay"), "dlq"
        )
        self.metrics.dead_letters.labels("parse").inc()

    async def _retry(self, op: Callable[[], Awaitable[T]], stage: str) -> T:
        return await retrying(op, stage, self.metrics, self.retry_for_s, self.retry_cap_s)
