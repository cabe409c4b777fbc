"""The wins topic on a real broker: created as the settings describe it, refused with a clear
error when the one there disagrees; and the group's lag per partition, end minus commit."""

from __future__ import annotations

import asyncio
import secrets

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from couponrush.core.errors import BrokerUnavailable, ConfigError
from couponrush.pipeline import kafka
from couponrush.pipeline.kafka_lag import GroupLag
from couponrush.pipeline.kafka_topic import TopicSpec, ensure_topic
from couponrush.pipeline.metrics import PipelineMetrics
from couponrush.pipeline.retry import retrying
from tests.helpers import poll


async def sampled(lag: GroupLag) -> None:
    """One sample, through a group coordinator that a fresh broker may still be loading."""

    async def once() -> bool:
        try:
            await lag.sample()
        except BrokerUnavailable:
            return False
        return True

    await poll(once, "a sample of the group's lag", 30)


def _name(prefix: str) -> str:
    return f"{prefix}.{secrets.token_hex(4)}"


async def test_a_missing_topic_is_made_as_the_settings_say_and_found_so_again(
    kafka_bootstrap: str,
) -> None:
    spec = TopicSpec(_name("made"), 4, 1, 1)
    await ensure_topic(kafka_bootstrap, spec)
    await ensure_topic(kafka_bootstrap, spec)  # the next start finds it as it wants it


@pytest.mark.parametrize(
    ("other", "said"),
    [((6, 1, 1), "4 partitions"), ((4, 1, 2), "min.insync.replicas 1")],
)
async def test_a_topic_that_disagrees_is_refused_with_what_differs(
    kafka_bootstrap: str, other: tuple[int, int, int], said: str
) -> None:
    name = _name("other")
    await ensure_topic(kafka_bootstrap, TopicSpec(name, 4, 1, 1))
    with pytest.raises(ConfigError, match=said) as refused:
        await ensure_topic(kafka_bootstrap, TopicSpec(name, *other))
    assert "COUPONRUSH_KAFKA_PARTITIONS" in str(refused.value)


async def test_processes_making_the_topic_at_once_all_start(kafka_bootstrap: str) -> None:
    """The relay and consumers start together: those that find the topic being made wait
    for it to settle (retried as the pipeline does) instead of refusing it as empty."""
    spec = TopicSpec(_name("together"), 12, 1, 1)

    async def start() -> None:
        await retrying(
            lambda: ensure_topic(kafka_bootstrap, spec), "topics", PipelineMetrics(), 30, 0.2
        )

    await asyncio.gather(*(start() for _ in range(4)))


async def test_more_copies_than_brokers_is_refused_at_once(kafka_bootstrap: str) -> None:
    with pytest.raises(ConfigError, match="replication factor 9"):
        await ensure_topic(kafka_bootstrap, TopicSpec(_name("copies"), 1, 9, 2))


async def test_the_group_lag_is_each_partitions_end_minus_its_commit(kafka_bootstrap: str) -> None:
    topic, group = _name("lag"), _name("group")
    await ensure_topic(kafka_bootstrap, TopicSpec(topic, 3, 1, 1))
    producer = Producer(kafka.producer_conf(kafka_bootstrap))
    for n in range(30):
        producer.produce(topic, b"{}", f"user-{n}".encode(), partition=n % 3)
    assert producer.flush(10) == 0
    metrics = PipelineMetrics()
    lag = GroupLag(kafka_bootstrap, group, topic, metrics)

    def gauge(name: str, partition: int) -> float | None:
        labels = {"topic": topic, "partition": str(partition)}
        return metrics.registry.get_sample_value(f"couponrush_kafka_{name}", labels)

    await sampled(lag)  # nothing committed: the whole partition waits
    assert [gauge("consumer_lag", p) for p in range(3)] == [10, 10, 10]
    committer = Consumer(kafka.consumer_conf(kafka_bootstrap, group))
    committer.commit(
        offsets=[TopicPartition(topic, 0, 10), TopicPartition(topic, 1, 4)], asynchronous=False
    )
    committer.close()
    await sampled(lag)
    assert [gauge("consumer_lag", p) for p in range(3)] == [0, 6, 10]
    assert [gauge("committed_offset", p) for p in range(3)] == [10, 4, 0]
    assert [gauge("log_end_offset", p) for p in range(3)] == [10, 10, 10]
