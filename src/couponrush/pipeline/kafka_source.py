"""The Kafka topic as a source: offsets are committed by hand, after the database commit.

confluent-kafka's calls block, so each runs in a worker thread, one at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import orjson
import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from couponrush.core.errors import BadMessage
from couponrush.core.ports import Delivery
from couponrush.core.win import parse_message
from couponrush.pipeline.kafka import translated

log = structlog.get_logger(__name__)
# A commit refused because the group rebalanced: the new owner gets those messages again,
# which the idempotent insert absorbs, so there is nothing to retry.
_LOST_OWNERSHIP = frozenset({
    KafkaError.ILLEGAL_GENERATION, KafkaError.UNKNOWN_MEMBER_ID,
    KafkaError.REBALANCE_IN_PROGRESS, KafkaError._NO_OFFSET,
})  # fmt: skip


def payload_of(value: bytes | None) -> dict[str, str]:
    """The message as a flat dict for the dead-letter entry, whatever it holds."""
    try:
        body = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict):
        return {str(k): v if isinstance(v, str) else orjson.dumps(v).decode()
                for k, v in body.items()}  # fmt: skip
    return {"raw": (value or b"").decode("utf-8", "replace")}


def delivery(msg: Message) -> Delivery:
    value = msg.value()
    payload = payload_of(value)
    ref = (msg.topic(), msg.partition(), msg.offset())
    try:
        win = parse_message(value)
        return Delivery(ref, win.event_id, payload, win)
    except BadMessage as exc:
        return Delivery(ref, payload.get("event_id", ""), payload, None, str(exc))


class KafkaSource:
    name = "kafka"

    def __init__(self, conf: dict[str, Any], topic: str, batch: int, block_ms: int,
                 on_assign: Callable[[], None] | None = None) -> None:  # fmt: skip
        """``on_assign``: called each time the group gave this member its partitions."""
        self._consumer = Consumer(conf)
        self._on_assign = on_assign
        self._consumer.subscribe([topic], on_assign=self._assigned)
        self._batch, self._timeout_s = batch, block_ms / 1000

    def _assigned(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Runs inside consume(), in its worker thread; the library applies the assignment.
        log.info("kafka_group_joined", partitions=len(partitions))
        if self._on_assign is not None:
            self._on_assign()

    async def fetch(self) -> list[Delivery]:
        with translated():
            msgs = await asyncio.to_thread(self._consumer.consume, self._batch, self._timeout_s)
            out: list[Delivery] = []
            for msg in msgs:
                error = msg.error()
                if error is None:
                    out.append(delivery(msg))
                elif error.fatal():
                    raise KafkaException(error)
                else:
                    log.info("kafka_notice", error=str(error))
        return out

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        last: dict[tuple[str, int], int] = {}
        for d in deliveries:
            ref: Any = d.ref
            key = (str(ref[0]), int(ref[1]))
            last[key] = max(last.get(key, -1), int(ref[2]))
        offsets = [TopicPartition(t, p, o + 1) for (t, p), o in last.items()]
        with translated():
            try:
                await asyncio.to_thread(self._consumer.commit, offsets=offsets,
                                        asynchronous=False)  # fmt: skip
            except KafkaException as exc:
                if exc.args[0].code() not in _LOST_OWNERSHIP:
                    raise
                log.warning("kafka_commit_after_rebalance", error=str(exc))

    async def close(self) -> None:
        with translated():
            await asyncio.to_thread(self._consumer.close)
