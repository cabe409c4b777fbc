"""Wiring of the pipeline's processes and commands from settings, with graceful stop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import structlog

from couponrush.core.codes import CodeSigner
from couponrush.core.ports import Source
from couponrush.core.win import Win
from couponrush.db.repository import Repository
from couponrush.pipeline.consumer import Consumer
from couponrush.pipeline.loop import BatchLoop, RetryBudget
from couponrush.pipeline.metrics import PipelineMetrics
from couponrush.pipeline.relay import Relay
from couponrush.pipeline.retry import retrying
from couponrush.pipeline.sampler import Sampler
from couponrush.settings import Settings
from couponrush.store import client
from couponrush.store.client import RedisClient
from couponrush.store.dead_letters import DeadLetters
from couponrush.store.events import EventStore
from couponrush.store.frozen import Fence
from couponrush.store.nodes import replica_wait
from couponrush.store.outbox import StreamSource
from couponrush.store.scripts import Scripts
from couponrush.store.streams import unacknowledged

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Stores:
    redis: RedisClient
    events: EventStore
    letters: DeadLetters
    db: Repository
    # Writes that could re-open a sold-out event (restore, repair) wait behind it.
    fence: Fence


def member_name() -> str:
    """Unique per process, so a restarted consumer never inherits a dead one's pending list."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"


def redis_for(settings: Settings) -> RedisClient:
    # Reads block up to consumer_block_ms; the socket timeout must outlast that.
    return client.connect(settings, settings.consumer_block_ms / 1000 + 10)


def signer_for(settings: Settings) -> CodeSigner:
    return CodeSigner(settings.coupon_secret.get_secret_value().encode())


def stop_on_signals() -> asyncio.Event:
    """SIGTERM/SIGINT end the loop after the batch in hand (it is finished, not dropped)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


@asynccontextmanager
async def stores(settings: Settings) -> AsyncIterator[Stores]:
    redis = redis_for(settings)
    try:
        db = await Repository.connect(
            settings.database_url, connect_args=settings.database_connect_args()
        )
        try:
            events = EventStore(redis, Scripts.from_package())
            yield Stores(redis, events, DeadLetters(redis), db, Fence(redis, settings.fence_wait_s))
        finally:
            await db.close()
    finally:
        await redis.aclose()


def in_flight_for(s: Settings, redis: RedisClient) -> Callable[[str], Awaitable[list[Win]]]:
    """The wins of an event on their way to the database (pipeline.recovery.InFlight):
    the outbox entries the draining group has not acknowledged, and in Kafka mode the
    messages after the consumer group's committed offsets."""

    async def moving(event_id: str) -> list[Win]:
        wins = await unacknowledged(redis, event_id, s.outbox_group)
        if s.queue == "kafka":
            from couponrush.pipeline import topic_scan
            from couponrush.pipeline.kafka import security_conf

            wins += await topic_scan.uncommitted(
                s.kafka_bootstrap, s.kafka_topic, s.consumer_group, event_id, security_conf(s)
            )
        return wins

    return moving


def _budget(s: Settings) -> RetryBudget:
    return RetryBudget(s.retry_for_s, s.retry_cap_s)


async def _topics(s: Settings, metrics: PipelineMetrics) -> None:
    """Create the topic or check the one there, waiting out a broker that is not up yet."""
    from couponrush.pipeline import kafka
    from couponrush.pipeline.kafka_topic import TopicSpec, ensure_topic

    spec = TopicSpec.of(s)
    await retrying(
        lambda: ensure_topic(s.kafka_bootstrap, spec, kafka.security_conf(s)),
        "topics",
        metrics,
        s.retry_for_s,
        s.retry_cap_s,
    )


def stream_source(s: Settings, redis: RedisClient, group: str) -> StreamSource:
    # With replicas, only entries the replicas hold are persisted (see store.outbox).
    return StreamSource(
        redis,
        group,
        member_name(),
        s.consumer_batch,
        s.consumer_block_ms,
        s.reclaim_idle_ms,
        replica_wait(s),
        int(s.live_linger_s * 1000),
    )


async def source_for(s: Settings, redis: RedisClient, metrics: PipelineMetrics) -> Source:
    if s.queue == "stream":
        return stream_source(s, redis, s.consumer_group)
    # The Kafka client is an extra (couponrush[kafka]): loaded only in Kafka mode.
    from couponrush.pipeline import kafka
    from couponrush.pipeline.kafka_source import KafkaSource

    await _topics(s, metrics)
    conf = kafka.consumer_conf(
        s.kafka_bootstrap,
        s.consumer_group,
        s.kafka_max_poll_interval_ms,
        security=kafka.security_conf(s),
    )
    return KafkaSource(
        conf,
        s.kafka_topic,
        s.consumer_batch,
        s.consumer_block_ms,
        on_assign=lambda: metrics.readiness.mark("group"),
    )


async def _reached(
    probe: Callable[[], Awaitable[None]], what: str, s: Settings, metrics: PipelineMetrics
) -> None:
    """Wait out a store that is not up yet; then the process may say ``what`` is reachable."""
    await retrying(probe, what, metrics, s.retry_for_s, s.retry_cap_s)
    metrics.readiness.mark(what)


@asynccontextmanager
async def sampling(sampler: Sampler, stop: asyncio.Event) -> AsyncIterator[None]:
    """The metrics' reads of Redis, beside the loop, for as long as it runs."""
    task = asyncio.create_task(sampler.run(stop))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def consume(settings: Settings, metrics: PipelineMetrics) -> None:
    s = settings
    metrics.readiness.expect("source", "sink", *(("group",) if s.queue == "kafka" else ()))
    async with stores(s) as st:
        await _reached(st.db.ping, "sink", s, metrics)
        source = await source_for(s, st.redis, metrics)
        loop = BatchLoop(source, st.letters, metrics, _budget(s), source.name)
        consumer = Consumer(loop, st.db, st.events, signer_for(s))
        sampler = Sampler(
            st.redis,
            metrics,
            s.outbox_group,
            s.metrics_interval_s,
            s.metrics_max_events,
            probes=_group_lag(s, metrics),
        )
        stop = stop_on_signals()
        log.info("consumer_started", queue=s.queue)
        try:
            async with sampling(sampler, stop):
                await consumer.run(stop)
        finally:
            await source.close()


def _group_lag(s: Settings, metrics: PipelineMetrics) -> list[Callable[[], Awaitable[None]]]:
    if s.queue != "kafka":
        return []
    from couponrush.pipeline.kafka import security_conf
    from couponrush.pipeline.kafka_lag import GroupLag

    lag = GroupLag(s.kafka_bootstrap, s.consumer_group, s.kafka_topic, metrics, security_conf(s))
    return [lag.sample]


async def relay(settings: Settings, metrics: PipelineMetrics) -> None:
    from confluent_kafka import Producer

    from couponrush.pipeline import kafka

    s = settings
    metrics.readiness.expect("source", "sink")
    redis = redis_for(s)
    try:
        await _topics(s, metrics)
        source = stream_source(s, redis, s.relay_group)
        conf = kafka.producer_conf(
            s.kafka_bootstrap, s.kafka_delivery_timeout_ms, security=kafka.security_conf(s)
        )
        publisher = kafka.KafkaPublisher(
            lambda: Producer(conf), s.kafka_topic, s.kafka_delivery_timeout_ms
        )
        await _reached(publisher.probe, "sink", s, metrics)
        loop = BatchLoop(source, DeadLetters(redis), metrics, _budget(s), "relay")
        sampler = Sampler(
            redis, metrics, s.relay_group, s.metrics_interval_s, s.metrics_max_events, relay=True
        )
        stop = stop_on_signals()
        log.info("relay_started", topic=s.kafka_topic)
        async with sampling(sampler, stop):
            await Relay(loop, publisher).run(stop)
        await publisher.close()
    finally:
        await redis.aclose()
