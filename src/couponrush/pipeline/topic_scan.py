"""Kafka mode: the wins that are in the topic but not yet in the database, those after the
consumer group's committed offsets (the consumer commits only after the database did).

Read by a consumer that joins no group (partitions assigned by hand) and commits nothing:
it asks the group's committed offsets under the group's id and reads each partition from
there to its end, so the scan is as long as the consumer is behind, never as long as the
topic.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

from confluent_kafka import OFFSET_INVALID, Consumer, TopicPartition

from couponrush.core.errors import BadMessage, BrokerUnavailable
from couponrush.core.win import Win, parse_message
from couponrush.pipeline.kafka import Security, consumer_conf, translated

_TIMEOUT_S = 10.0
_POLL_S = 0.2
_QUIET_S = 1.0


async def uncommitted(
    bootstrap: str, topic: str, group: str, event_id: str, security: Security = None
) -> list[Win]:
    """The event's wins after ``group``'s committed offsets, in every partition."""
    consumer = Consumer(consumer_conf(bootstrap, group, security=security))
    with translated():
        return await asyncio.to_thread(_scan, consumer, topic, event_id)


def _scan(consumer: Consumer, topic: str, event_id: str) -> list[Win]:
    try:
        ends = _positions(consumer, topic)
        if not ends:
            return []
        consumer.assign([TopicPartition(topic, p, start) for p, (start, _) in ends.items()])
        return _read(consumer, ends, event_id)
    finally:
        consumer.close()


def _positions(consumer: Consumer, topic: str) -> dict[int, tuple[int, int]]:
    """partition -> (where the group goes on, the partition's end), for those with
    something between the two."""
    meta = consumer.list_topics(topic, timeout=_TIMEOUT_S).topics.get(topic)
    if meta is None or meta.error is not None:
        return {}
    parts = [TopicPartition(topic, p) for p in sorted(meta.partitions)]
    found: dict[int, tuple[int, int]] = {}
    for tp in consumer.committed(parts, timeout=_TIMEOUT_S):
        low, high = consumer.get_watermark_offsets(tp, timeout=_TIMEOUT_S, cached=False)
        start = low if tp.offset == OFFSET_INVALID else max(tp.offset, low)
        if start < high:
            found[tp.partition] = (start, high)
    return found


def _read(consumer: Consumer, ends: dict[int, tuple[int, int]], event_id: str) -> list[Win]:
    """Every message from the starts on: past each partition's end, and then until the
    topic has been quiet for a moment, since a broker may report an end that is short
    (the test broker's high watermarks lag)."""
    left = {p: high for p, (_, high) in ends.items()}
    wins: list[Win] = []
    deadline = time.monotonic() + _TIMEOUT_S
    last_seen = time.monotonic()
    while left or time.monotonic() - last_seen < _QUIET_S:
        if time.monotonic() > deadline:
            if not left:
                break
            raise BrokerUnavailable(f"kafka: the topic's end not reached in {_TIMEOUT_S:g} s")
        msg = consumer.poll(_POLL_S)
        if msg is None or msg.error() is not None:
            continue
        last_seen = time.monotonic()
        partition, offset = msg.partition(), msg.offset() or 0
        if partition in left and offset + 1 >= left[partition]:
            del left[partition]
        with contextlib.suppress(BadMessage):  # the consumer dead-letters it
            win = parse_message(msg.value())
            if win.event_id == event_id:
                wins.append(win)
    return wins
