"""Reconcile during a live sale compares a consistent cut (no false breach for wins on
their way), and a restore in Kafka mode takes the wins still in the topic: no slot twice."""

from __future__ import annotations

import json
import os
import signal
from typing import Any

from redis.asyncio import Redis

from couponrush.rush.burst import burst_users, run_burst
from couponrush.store.keys import event_keys
from tests.fixtures.app import AppServer
from tests.fixtures.pipeline import Pipeline
from tests.helpers import (
    create_event,
    dead_letters,
    poll,
    redis_truth,
    row_count,
    run_cli,
    wait_rows,
)
from tests.pipeline.test_end_to_end import assert_persisted

FAST_FENCE = {"COUPONRUSH_SOLDOUT_LEASE_MS": "500"}


def reconcile(pipeline: Pipeline, event_id: str) -> tuple[int, dict[str, Any]]:
    done = pipeline.cli("reconcile", event_id, "--json")
    return done.returncode, json.loads(done.stdout)


async def test_a_reconcile_during_a_live_sale_reports_no_breach(
    db_app: AppServer, pipeline: Pipeline, db: Any, redis: Redis, event_id: str
) -> None:
    create_event(db_app, event_id, 200)
    pipeline.start("consume", "stream")
    first = await run_burst(db_app.url, event_id, burst_users(50, 50), 8, show_progress=False)
    await wait_rows(db, event_id, 50)

    async def acknowledged() -> bool:
        # The consumer acknowledges after its commit: rows visible is not yet acknowledged.
        found = await redis.xpending(event_keys(event_id).outbox, "couponrush-db")
        return int(found["pending"]) == 0

    await poll(acknowledged, "the first 50 wins acknowledged", 30)
    consumer = pipeline.procs["consume"]
    os.kill(consumer.pid, signal.SIGSTOP)  # wins keep coming, none lands meanwhile
    try:
        users = burst_users(30, 30, seed=3)
        late = await run_burst(
            db_app.url, event_id, [f"late-{u}" for u in users], 8, show_progress=False
        )
        code, report = reconcile(pipeline, event_id)
        assert code == 0, report
        assert (report["in_flight"], report["watermark"], report["db_rows"]) == (30, 51, 50)
        # A row that is gone below the watermark is a breach, live sale or not.
        gone = await db.fetchval(
            "DELETE FROM coupon_issuances WHERE event_id = $1 AND slot = 7 RETURNING user_id",
            event_id,
        )
        code, report = reconcile(pipeline, event_id)
        assert (code, report["missing_in_db"], report["in_flight"]) == (1, [gone], 30)
    finally:
        os.kill(consumer.pid, signal.SIGCONT)
    assert pipeline.cli("reconcile", event_id, "--repair").returncode == 1
    await assert_persisted(db, redis, pipeline, event_id, 200, first + late, sold_out=False)


async def test_a_restore_in_kafka_mode_takes_the_wins_still_in_the_topic(
    db_app: AppServer, pipeline: Pipeline, db: Any, redis: Redis, event_id: str
) -> None:
    total = 100
    create_event(db_app, event_id, total)
    pipeline.start_mode("kafka")
    first = await run_burst(db_app.url, event_id, burst_users(20, 20), 8, show_progress=False)
    await wait_rows(db, event_id, 20)
    pipeline.kill("consume")  # the relay goes on: the next wins wait in the topic
    users = [f"topic-{u}" for u in burst_users(30, 30, seed=5)]
    held = await run_burst(db_app.url, event_id, users, 8, show_progress=False)
    keys = event_keys(event_id)

    async def relayed() -> bool:
        groups: Any = await redis.xinfo_groups(keys.outbox)
        return all(g["lag"] == 0 and g["pending"] == 0 for g in groups)

    await poll(relayed, "the relay moved every win to the topic", 30)
    assert await row_count(db, event_id) == 20
    await redis.delete(*keys.script_keys)  # Redis lost the event
    env = pipeline.with_env(
        COUPONRUSH_QUEUE="kafka",
        **FAST_FENCE,
        COUPONRUSH_KAFKA_BOOTSTRAP=pipeline.kafka_bootstrap(),
    )
    done = run_cli(["restore", event_id], env, check=True)
    assert "50 winners (20 from the database, 30 on their way" in done.stdout, done.stdout
    winners, stock = await redis_truth(redis, event_id)
    assert (len(winners), max(winners.values()), stock) == (50, 50, total - 50)
    after = await run_burst(
        db_app.url, event_id, [f"after-{u}" for u in burst_users(80, 80)], 8, show_progress=False
    )
    pipeline.start("consume", "kafka")
    await assert_persisted(db, redis, pipeline, event_id, total, first + held + after)
    assert await dead_letters(redis, event_id) == []  # no slot was handed out twice
