"""Crashes and outages in the middle of a burst: no win lost, none written twice."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from couponrush.rush.burst import burst_users, run_burst
from couponrush.stack.procs import free_port
from tests.fixtures.app import AppServer
from tests.fixtures.pipeline import Pipeline
from tests.fixtures.postgres import PgServer
from tests.helpers import create_event, dead_letters, pipeline_retries, poll, row_count
from tests.pipeline.test_end_to_end import assert_persisted

TOTAL, USERS = 1_000, 5_000
OUTAGE_S = 10.0


@pytest.mark.parametrize("mode", ["stream", "kafka"])
async def test_killed_consumer_and_relay_lose_nothing(
    mode: str, db_app: AppServer, pipeline: Pipeline, db: Any, redis: Redis, event_id: str
) -> None:
    create_event(db_app, event_id, TOTAL)
    pipeline.start_mode(mode)
    burst = asyncio.create_task(
        run_burst(db_app.url, event_id, burst_users(USERS, USERS), 16, show_progress=False)
    )

    async def some_written() -> bool:
        return await row_count(db, event_id) > 0

    await poll(some_written, "first rows", 30)
    pipeline.kill("consume")
    if mode == "kafka":
        pipeline.kill("relay")
    pipeline.start_mode(mode)
    answers = await burst
    await assert_persisted(db, redis, pipeline, event_id, TOTAL, answers)
    assert await dead_letters(redis, event_id) == []


async def test_database_down_for_ten_seconds(
    db_app: AppServer, pipeline: Pipeline, db: Any, redis: Redis, pg: PgServer, event_id: str
) -> None:
    create_event(db_app, event_id, TOTAL)
    pipeline.start("consume", "stream", "--metrics-port", str(metrics_port := free_port()))
    pg.stop()
    down_at = time.monotonic()
    try:
        answers = await run_burst(
            db_app.url, event_id, burst_users(USERS, USERS), 64, show_progress=False
        )
        body = {"event_id": f"{event_id}-x", "name": "x", "total_stock": 1}
        async with httpx.AsyncClient(timeout=10) as http:
            created = await http.post(f"{db_app.url}/v1/events", json=body, headers=db_app.admin)
        assert created.status_code == 503
        assert "Retry-After" in created.headers
        await asyncio.sleep(max(0.0, OUTAGE_S - (time.monotonic() - down_at)))
    finally:
        pg.start()
    assert pipeline.alive()
    await assert_persisted(db, redis, pipeline, event_id, TOTAL, answers)
    assert await dead_letters(redis, event_id) == []
    assert pipeline_retries(metrics_port) > 0
