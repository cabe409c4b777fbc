"""Wiring of the long-running pipeline processes from settings, with graceful stop."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import structlog
from confluent_kafka import Producer
from redis.asyncio import Redis

from couponrush.codes import CodeSigner
from couponrush.db import repo
from couponrush.pipeline import kafka
from couponrush.pipeline.consumer import Consumer
from couponrush.pipeline.dlq import DeadLetters
from couponrush.pipeline.kafka_source import KafkaSource
from couponrush.pipeline.metrics import PipelineMetrics
from couponrush.pipeline.relay import Relay
from couponrush.pipeline.retry import retrying
from couponrush.pipeline.source import Source
from couponrush.pipeline.stream_source import StreamSource
from couponrush.settings import Settings

log = structlog.get_logger(__name__)


def member_name() -> str:
    """Unique per process, so a restarted consumer never inherits a dead one's pending list."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(2)}"


def redis_for(settings: Settings) -> Redis:
    # Reads block up to consumer_block_ms; the socket timeout must outlast that.
    timeout = settings.consumer_block_ms / 1000 + 10
    return Redis.from_url(settings.redis_url, decode_responses=True, socket_timeout=timeout,
                          socket_connect_timeout=5, health_check_interval=30)  # fmt: skip


def stop_on_signals() -> asyncio.Event:
    """SIGTERM/SIGINT end the loop after the batch in hand (it is finished, not dropped)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


@asynccontextmanager
async def stores(settings: Settings) -> AsyncIterator[tuple[Redis, Any]]:
    redis = redis_for(settings)
    pool = await repo.create_pool(settings.database_url)
    try:
        yield redis, pool
    finally:
        await pool.close()
        await redis.aclose()


async def _topics(s: Settings, metrics: PipelineMetrics) -> None:
    """Create the topic, waiting out a broker that is not up yet."""
    await retrying(lambda: kafka.ensure_topics(s.kafka_bootstrap, s.kafka_topic), "topics",
                   metrics, s.retry_for_s, s.retry_cap_s)  # fmt: skip


async def source_for(settings: Settings, redis: Redis) -> Source:
    s = settings
    if s.queue == "stream":
        return StreamSource(redis, s.consumer_group, member_name(), s.consumer_batch,
                            s.consumer_block_ms, s.reclaim_idle_ms)  # fmt: skip
    await _topics(s, PipelineMetrics())
    conf = kafka.consumer_conf(s.kafka_bootstrap, s.consumer_group)
    return KafkaSource(conf, s.kafka_topic, s.consumer_batch, s.consumer_block_ms)


async def consume(settings: Settings, metrics: PipelineMetrics) -> None:
    signer = CodeSigner(settings.coupon_secret.get_secret_value().encode())
    async with stores(settings) as (redis, pool):
        source = await source_for(settings, redis)
        consumer = Consumer(source, pool, redis, DeadLetters(redis), signer, metrics,
                            settings.retry_for_s, settings.retry_cap_s)  # fmt: skip
        log.info("consumer_started", queue=settings.queue)
        try:
            await consumer.run(stop_on_signals())
        finally:
            await source.close()


async def relay(settings: Settings, metrics: PipelineMetrics) -> None:
    s = settings
    redis = redis_for(s)
    try:
        await _topics(s, metrics)
        source = StreamSource(redis, s.relay_group, member_name(), s.consumer_batch,
                              s.consumer_block_ms, s.reclaim_idle_ms)  # fmt: skip
        producer = Producer(kafka.producer_conf(s.kafka_bootstrap))
        worker = Relay(source, producer, s.kafka_topic, DeadLetters(redis), metrics,
                       s.retry_for_s, s.retry_cap_s)  # fmt: skip
        log.info("relay_started", topic=s.kafka_topic)
        await worker.run(stop_on_signals())
        await asyncio.to_thread(producer.flush, 10)
    finally:
        await redis.aclose()
