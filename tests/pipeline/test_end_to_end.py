"""5,000 users race for 1,000 coupons; every win lands in PostgreSQL, in both modes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from redis.asyncio import Redis

from couponrush.rush.burst import burst_users, run_burst
from couponrush.rush.oracle import WIN_RESULTS, Answer, check
from tests.fixtures.app import AppServer
from tests.fixtures.pipeline import Pipeline
from tests.helpers import create_event, db_rows, redis_truth, wait_rows

TOTAL, USERS = 1_000, 5_000


async def assert_persisted(
    db: Any,
    redis: Redis,
    pipeline: Pipeline,
    event_id: str,
    total: int,
    answers: list[Answer],
    sold_out: bool = True,
    rows_within_s: float = 30,
) -> None:
    """DESIGN §1 in Redis, then the database holds exactly the winners the clients were told
    (within ``rows_within_s``)."""
    winners, stock = await redis_truth(redis, event_id)
    assert check(total, answers, winners, stock, expect_sold_out=sold_out) == []
    await wait_rows(db, event_id, len(winners), timeout_s=rows_within_s)
    rows = await db_rows(db, event_id)
    assert {u: slot for u, (slot, _) in rows.items()} == winners
    told = {a.user_id: (a.slot, a.coupon_code) for a in answers if a.result in WIN_RESULTS}
    assert all(rows[user] == coupon for user, coupon in told.items())
    done = pipeline.cli("reconcile", event_id, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["ok"] is True


@pytest.mark.parametrize("mode", ["stream", "kafka"])
async def test_every_win_reaches_the_database(
    mode: str, db_app: AppServer, pipeline: Pipeline, db: Any, redis: Redis, event_id: str
) -> None:
    create_event(db_app, event_id, TOTAL)
    pipeline.start_mode(mode)
    answers = await run_burst(
        db_app.url, event_id, burst_users(USERS, USERS), 64, show_progress=False
    )
    await assert_persisted(db, redis, pipeline, event_id, TOTAL, answers)
    assert pipeline.alive()
