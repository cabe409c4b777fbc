"""reconcile finds each breach and mends what it safely can; restore after a Redis loss."""

from __future__ import annotations

import json
from typing import Any

import httpx
from redis.asyncio import Redis

from couponrush.rush.burst import burst_users, run_burst
from couponrush.store.keys import event_keys
from tests.fixtures.app import AppServer
from tests.fixtures.pipeline import Pipeline
from tests.helpers import create_event, db_rows, poll, wait_rows
from tests.pipeline.test_end_to_end import assert_persisted


def reconcile(pipeline: Pipeline, event_id: str, *flags: str) -> tuple[int, dict[str, Any]]:
    done = pipeline.cli("reconcile", event_id, "--json", *flags)
    return done.returncode, json.loads(done.stdout)


async def test_reconcile_reports_and_repairs(
    db_app: AppServer, pipeline: Pipeline, db: Any, redis: Redis, event_id: str
) -> None:
    create_event(db_app, event_id, 100)
    pipeline.start("consume", "stream")
    answers = await run_burst(db_app.url, event_id, burst_users(60, 60), 8, show_progress=False)
    await assert_persisted(db, redis, pipeline, event_id, 100, answers, sold_out=False)
    lost = "user-0000007"
    await db.execute(
        "DELETE FROM coupon_issuances WHERE event_id = $1 AND user_id = $2", event_id, lost
    )
    await db.execute(
        "INSERT INTO coupon_issuances (event_id, user_id, slot, coupon_code, issued_at) "
        "VALUES ($1, 'foreign', 99, 'X', now())",
        event_id,
    )
    await redis.set(event_keys(event_id).stock, 7)

    code, report = reconcile(pipeline, event_id)
    assert code == 1
    assert report["missing_in_db"] == [lost]
    assert report["missing_in_redis"] == ["foreign"]
    assert report["stock_mismatch"]
    assert report["bad_codes"] == ["foreign"]
    assert report["repaired"] == []

    code, report = reconcile(pipeline, event_id, "--repair")
    assert code == 1
    assert len(report["repaired"]) == 2
    assert await redis.get(event_keys(event_id).stock) == "40"

    async def lost_is_back() -> bool:
        return lost in await db_rows(db, event_id)

    await poll(lost_is_back, "the re-queued row", 20)
    code, report = reconcile(pipeline, event_id)
    assert code == 1
    assert set(report["breaches"]) == {"missing_in_redis", "bad_codes"}
    await db.execute(
        "DELETE FROM coupon_issuances WHERE event_id = $1 AND user_id = 'foreign'", event_id
    )
    assert reconcile(pipeline, event_id)[0] == 0


async def test_restore_after_redis_loss_never_oversells(
    db_app: AppServer, pipeline: Pipeline, db: Any, redis: Redis, event_id: str
) -> None:
    total = 50
    create_event(db_app, event_id, total)
    pipeline.start("consume", "stream")
    first = await run_burst(db_app.url, event_id, burst_users(30, 30), 8, show_progress=False)
    await wait_rows(db, event_id, 30)
    keys = event_keys(event_id)
    await redis.delete(*keys.script_keys)
    async with httpx.AsyncClient(timeout=10) as http:
        gone = await http.get(f"{db_app.url}/v1/events/{event_id}")
    assert gone.status_code == 404
    assert pipeline.cli("restore", event_id).returncode == 0
    assert pipeline.cli("restore", event_id).returncode == 1  # Redis holds it again
    users = burst_users(200, 200, seed=11)
    second = await run_burst(db_app.url, event_id, users, 16, show_progress=False)
    await assert_persisted(db, redis, pipeline, event_id, total, first + second)
    assert len(await db_rows(db, event_id)) == total
