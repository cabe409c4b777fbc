"""The relay's publisher against real brokers that all go away for longer than a message may
wait: once they are back, a batch gets through again (the producer that failed is replaced)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from confluent_kafka import Producer

from couponrush.core.errors import BrokerUnavailable
from couponrush.core.win import Win
from couponrush.pipeline import kafka
from couponrush.pipeline.kafka_topic import TopicSpec, ensure_topic
from tests.fakes import delivery
from tests.fixtures.kafka import KafkaCluster

TOPIC = "outage.issued"
TIMEOUT_MS = 1500  # a message's delivery timeout, well under the outage


def wins(first: int, count: int) -> list[Win]:
    found = [delivery("e-outage", f"u{n}", n).win for n in range(first, first + count)]
    return [w for w in found if w is not None]


def publisher(bootstrap: str, made: list[Producer]) -> kafka.KafkaPublisher:
    conf = kafka.producer_conf(bootstrap, TIMEOUT_MS)

    def make() -> Producer:
        made.append(Producer(conf))
        return made[-1]

    return kafka.KafkaPublisher(make, TOPIC, TIMEOUT_MS)


async def published_within(
    pub: kafka.KafkaPublisher, batch: list[Win], deadline_s: float, failed: Callable[[], None]
) -> bool:
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            await pub.publish(batch)
            return True
        except BrokerUnavailable:
            failed()
    return False


@pytest.mark.timeout(180)  # with the three brokers started, when this test is their first
async def test_a_batch_gets_through_after_an_outage_longer_than_a_message_waits(
    kafka_three: KafkaCluster,
) -> None:
    await ensure_topic(kafka_three.bootstrap, TopicSpec(TOPIC, 3, 3, 2))
    made: list[Producer] = []
    pub = publisher(kafka_three.bootstrap, made)
    await pub.publish(wins(0, 50))
    failures: list[None] = []
    for node in kafka_three.nodes:
        kafka_three.pause(node.node_id)
    try:
        # messages time out in flight while the brokers hear nothing
        assert not await published_within(
            pub, wins(50, 50), 4 * TIMEOUT_MS / 1000, lambda: failures.append(None)
        )
    finally:
        kafka_three.heal()
    assert failures, "a batch sent into the outage must fail, not hang"
    later = wins(50, 200)
    assert await published_within(pub, later, 30, lambda: failures.append(None))
    assert len(made) == 1 + len(failures), "each failed batch gets a new producer"
    await pub.close()
