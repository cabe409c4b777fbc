"""Kafka mode on three real brokers (replication 3, min.insync.replicas 2), a fault in the
middle of each sale: the first wins are in the database, the fault strikes, and the rest
of the sale goes through it. Each ends with told = rows, no slot twice, reconcile clean
and no dead letter (the long forms: `couponrush chaos`, docs/reliability.md)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis

from couponrush.rush.burst import burst_users, run_burst
from couponrush.rush.oracle import Answer
from couponrush.stack.procs import free_port
from tests.fixtures.app import AppServer
from tests.fixtures.kafka import KafkaCluster
from tests.fixtures.pipeline import Pipeline
from tests.fixtures.postgres import PgServer
from tests.helpers import create_event, dead_letters, pipeline_retries, poll, row_count
from tests.pipeline.test_end_to_end import assert_persisted

TOTAL, USERS, FIRST = 1_000, 4_000, 300
# The shortest poll interval Kafka allows with the consumer's 6-s session: a batch held
# longer than it (the database away) must not cost the consumer its group.
POLL_INTERVAL_MS = 6_000
# A consumer whose poll interval a held batch outlives, logging its group's joins.
POLLING = {
    "COUPONRUSH_KAFKA_MAX_POLL_INTERVAL_MS": str(POLL_INTERVAL_MS),
    "COUPONRUSH_LOG_LEVEL": "info",
}
DELIVERY_TIMEOUT_MS = 2_000

pytestmark = pytest.mark.timeout(180)


async def sale_with_fault(
    app: AppServer,
    db: Any,
    event_id: str,
    fault: Callable[[], Awaitable[None]],
    alongside: bool = False,
) -> list[Answer]:
    """FIRST users win and some of them reach the database; then ``fault``, and then the
    rest of the users race for what is left (``alongside``: while the fault goes on)."""
    create_event(app, event_id, TOTAL)
    users = burst_users(USERS, USERS)
    first = await run_burst(app.url, event_id, users[:FIRST], 16, show_progress=False)

    async def flowing() -> bool:
        return await row_count(db, event_id) > 0

    await poll(flowing, f"the first rows of {event_id}", 60)
    rest = run_burst(app.url, event_id, users[FIRST:], 16, show_progress=False)
    if alongside:
        answers, _ = await asyncio.gather(rest, fault())
        return first + answers
    await fault()
    return first + await rest


async def settled(
    db: Any, redis: Redis, pipeline: Pipeline, event_id: str, answers: list[Answer]
) -> None:
    # A fault's aftermath (a group rebalancing, a broker catching up) takes longer on a
    # loaded machine than the end-to-end tests' 30 s.
    await assert_persisted(db, redis, pipeline, event_id, TOTAL, answers, rows_within_s=90)
    assert await dead_letters(redis, event_id) == []
    assert pipeline.alive()


def log_lines(path: Path, event: str) -> list[str]:
    return [line for line in path.read_text().splitlines() if f'"event": "{event}"' in line]


def partitions_held(path: Path) -> int:
    """The partitions a consumer was given at its last assignment (0 before any)."""
    joined = log_lines(path, "kafka_group_joined") if path.exists() else []
    return int(json.loads(joined[-1])["partitions"]) if joined else 0


async def test_the_leader_killed_mid_sale_loses_nothing(
    db_app: AppServer,
    pipeline: Pipeline,
    kafka_three: KafkaCluster,
    db: Any,
    redis: Redis,
    event_id: str,
) -> None:
    pipeline.on_brokers(kafka_three)
    pipeline.start_mode("kafka")
    killed: list[int] = []

    async def kill_the_leader() -> None:
        killed.append(kafka_three.leader_of_most(pipeline.topic))
        kafka_three.kill(killed[0])

    answers = await sale_with_fault(db_app, db, event_id, kill_the_leader)
    await settled(db, redis, pipeline, event_id, answers)
    assert kafka_three.leader_of_most(pipeline.topic) != killed[0]


async def test_a_broker_paused_past_the_delivery_timeout_loses_nothing(
    db_app: AppServer,
    pipeline: Pipeline,
    kafka_three: KafkaCluster,
    db: Any,
    redis: Redis,
    event_id: str,
) -> None:
    pipeline.on_brokers(kafka_three)
    port = free_port()
    timeout = {"COUPONRUSH_KAFKA_DELIVERY_TIMEOUT_MS": str(DELIVERY_TIMEOUT_MS)}
    pipeline.start("consume", "kafka")
    pipeline.start("relay", "kafka", "--metrics-port", str(port), env=timeout)

    async def pause_the_leader() -> None:
        kafka_three.pause(kafka_three.leader_of_most(pipeline.topic))

    answers = await sale_with_fault(db_app, db, event_id, pause_the_leader)
    await asyncio.sleep(3 * DELIVERY_TIMEOUT_MS / 1000)  # the outage: no readiness to wait on
    assert pipeline_retries(port, "produce") > 0, "no delivery timed out: the fault missed"
    kafka_three.heal()
    await settled(db, redis, pipeline, event_id, answers)


async def test_a_database_outage_longer_than_the_poll_interval_keeps_the_group(
    db_app: AppServer,
    pipeline: Pipeline,
    kafka_three: KafkaCluster,
    pg: PgServer,
    db: Any,
    redis: Redis,
    event_id: str,
) -> None:
    pipeline.on_brokers(kafka_three)
    pipeline.start("consume", "kafka", env=POLLING)
    pipeline.start("relay", "kafka")
    down: list[float] = []

    async def stop_the_database() -> None:
        await asyncio.to_thread(pg.stop)
        down.append(time.monotonic())

    try:
        answers = await sale_with_fault(db_app, db, event_id, stop_the_database)
        outage_s = 2 * POLL_INTERVAL_MS / 1000
        await asyncio.sleep(max(0.0, down[0] + outage_s - time.monotonic()))
    finally:
        pg.start()
    await settled(db, redis, pipeline, event_id, answers)
    log = pipeline.log_of("consume")
    assert len(log_lines(log, "kafka_group_joined")) == 1, log.read_text()[-3000:]
    assert "maximum poll interval" not in log.read_text()
    assert log_lines(log, "kafka_batch_held"), "the consumer never held a batch past its poll"


async def test_a_consumer_killed_mid_batch_hands_its_partitions_over(
    db_app: AppServer,
    pipeline: Pipeline,
    kafka_three: KafkaCluster,
    pg: PgServer,
    db: Any,
    redis: Redis,
    event_id: str,
) -> None:
    pipeline.on_brokers(kafka_three)
    for name in ("consume-a", "consume-b"):
        pipeline.start("consume", "kafka", name=name, env=POLLING)
    pipeline.start("relay", "kafka")
    consumers = [pipeline.log_of(name) for name in ("consume-a", "consume-b")]

    async def both_in_the_group() -> bool:  # else a may get its partitions after the sale
        held = [partitions_held(log) for log in consumers]
        return all(held) and sum(held) == 12

    await poll(both_in_the_group, "both consumers given partitions", 60)

    async def kill_a_consumer_holding_a_batch() -> None:
        """With the database away, both hold a batch they cannot write; one is killed."""
        await asyncio.to_thread(pg.stop)
        try:
            held = pipeline.log_of("consume-a")

            async def holding() -> bool:
                return bool(log_lines(held, "kafka_batch_held"))

            await poll(holding, "consumer a holding a batch", 30)
            pipeline.kill("consume-a")
        finally:
            await asyncio.to_thread(pg.start)

    answers = await sale_with_fault(
        db_app, db, event_id, kill_a_consumer_holding_a_batch, alongside=True
    )
    await settled(db, redis, pipeline, event_id, answers)
    joined = log_lines(pipeline.log_of("consume-b"), "kafka_group_joined")
    assert '"partitions": 12' in joined[-1], joined
