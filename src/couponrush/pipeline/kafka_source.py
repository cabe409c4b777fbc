"""The Kafka topic as a source: offsets are committed by hand, after the database commit.

confluent-kafka's calls block, so each runs in a worker thread, one at a time (the
polling for a held batch ends before the next call on the consumer starts).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from confluent_kafka import Consumer, KafkaError, KafkaException, Message, TopicPartition

from couponrush.core.errors import BadMessage
from couponrush.core.ports import Delivery
from couponrush.core.win import parse_message
from couponrush.pipeline.kafka import translated

log = structlog.get_logger(__name__)
_HOLD_MAX_S = 10.0
_POLL_S = 0.5
# A commit refused because the group rebalanced: the new owner gets those messages again,
# which the idempotent insert absorbs, so there is nothing to retry.
_LOST_OWNERSHIP = frozenset({
    KafkaError.ILLEGAL_GENERATION, KafkaError.UNKNOWN_MEMBER_ID,
    KafkaError.REBALANCE_IN_PROGRESS, KafkaError._NO_OFFSET,
})  # fmt: skip


@dataclass(frozen=True)
class _Hold:
    """A batch in hand: set ``released`` once it is done with; ``keeper`` polls meanwhile."""

    released: asyncio.Event
    keeper: asyncio.Task[None]


def payload_of(value: bytes | None) -> dict[str, str]:
    """The message as a flat dict for the dead-letter entry, whatever it holds."""
    try:
        body = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        body = None
    if isinstance(body, dict):
        return {
            str(k): v if isinstance(v, str) else orjson.dumps(v).decode() for k, v in body.items()
        }
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
    """While a batch is in hand for long (the database slow or away, retried for up to
    RETRY_FOR_S), the source keeps polling with every partition paused: a consumer that
    stops polling for max.poll.interval.ms is put out of its group, and its partitions are
    taken over mid-batch. Polling keeps it a member, and takes part in any rebalance."""

    name = "kafka"

    def __init__(
        self,
        conf: dict[str, Any],
        topic: str,
        batch: int,
        block_ms: int,
        on_assign: Callable[[], None] | None = None,
    ) -> None:
        """``on_assign``: called each time the group gave this member its partitions."""
        self._consumer = Consumer(conf)
        self._on_assign = on_assign
        self._consumer.subscribe([topic], on_assign=self._assigned)
        self._batch, self._timeout_s = batch, block_ms / 1000
        # Held this long, a batch starts the polling: well within the poll interval.
        self._hold_s = min(_HOLD_MAX_S, conf.get("max.poll.interval.ms", 300_000) / 4000)
        self._held: _Hold | None = None
        self._paused = False

    def _assigned(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        # Runs inside consume() or poll(), in its worker thread.
        log.info("kafka_group_joined", partitions=len(partitions))
        # A partition keeps its paused state across rebalances: while a batch is held its new
        # partitions wait too, and otherwise none may stay paused from an earlier hold.
        consumer.assign(partitions)
        (consumer.pause if self._paused else consumer.resume)(partitions)
        if self._on_assign is not None:
            self._on_assign()

    async def fetch(self) -> list[Delivery]:
        await self._release()
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
        if out:
            released = asyncio.Event()
            self._held = _Hold(released, asyncio.create_task(self._keep_polling(released)))
        return out

    async def _keep_polling(self, released: asyncio.Event) -> None:
        """From ``hold_s`` after the fetch until the batch is released."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(released.wait(), self._hold_s)
            return
        with translated():
            await asyncio.to_thread(self._pause)
            log.warning("kafka_batch_held", polling_paused=True, after_s=self._hold_s)
            try:
                while not released.is_set():
                    await asyncio.to_thread(self._poll_paused)
            finally:  # never leave the partitions paused, whatever ended the polling
                await asyncio.to_thread(self._resume)

    def _pause(self) -> None:
        self._paused = True
        self._consumer.pause(self._consumer.assignment())

    def _poll_paused(self) -> None:
        """Serves the group (heartbeats, rebalances, the poll interval); a message, which a
        paused partition should not give, is put back by seeking to it."""
        msg = self._consumer.poll(_POLL_S)
        if msg is None:
            return
        error = msg.error()
        if error is not None:
            if error.fatal():
                raise KafkaException(error)
            return
        topic, partition, offset = msg.topic(), msg.partition(), msg.offset()
        if topic is None or partition is None or offset is None:
            return
        where = TopicPartition(topic, partition, offset)
        self._consumer.pause([where])
        self._consumer.seek(where)

    def _resume(self) -> None:
        self._paused = False
        self._consumer.resume(self._consumer.assignment())

    async def _release(self) -> None:
        """The batch in hand is done with: stop polling for it, resume the partitions."""
        held, self._held = self._held, None
        if held is not None:
            held.released.set()
            await held.keeper

    async def ack(self, deliveries: Sequence[Delivery]) -> None:
        await self._release()
        last: dict[tuple[str, int], int] = {}
        for d in deliveries:
            ref: Any = d.ref
            key = (str(ref[0]), int(ref[1]))
            last[key] = max(last.get(key, -1), int(ref[2]))
        offsets = [TopicPartition(t, p, o + 1) for (t, p), o in last.items()]
        with translated():
            try:
                await asyncio.to_thread(self._consumer.commit, offsets=offsets, asynchronous=False)
            except KafkaException as exc:
                if exc.args[0].code() not in _LOST_OWNERSHIP:
                    raise
                log.warning("kafka_commit_after_rebalance", error=str(exc))

    async def close(self) -> None:
        await self._release()
        with translated():
            await asyncio.to_thread(self._consumer.close)
