"""200 users from one address through the gateway's default limits, with AsyncClient:
every one reaches a final outcome, and none came back sooner than Retry-After."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from redis.asyncio import Redis

from couponrush.client import AsyncClient, IssueOutcome
from couponrush.rush import oracle as invariants
from couponrush.rush.burst import answer
from tests.gateway.conftest import GatewayFactory, start_pool, stop_pool
from tests.helpers import create_event, redis_truth

USERS, STOCK = 200, 3


async def _shopper(url: str, event_id: str, user: str) -> IssueOutcome:
    async with AsyncClient(url) as client:  # the SDK's default policy
        return await client.issue(event_id, user)


async def test_200_users_from_one_address_all_get_a_final_outcome(
    redis_url: str, redis: Redis, start_gateway: GatewayFactory, tmp_path: Path, event_id: str
) -> None:
    pool = start_pool(redis_url, tmp_path / "pool", 2)  # the app's default limits too
    try:
        create_event(pool, event_id, STOCK)
        gw = start_gateway(pool)  # default limits: 20 r/s, burst 40, 64 connections
        outcomes = await asyncio.gather(
            *(_shopper(gw.url, event_id, f"shopper-{i:03d}") for i in range(USERS))
        )
    finally:
        stop_pool(pool)
    results = Counter(o.result for o in outcomes)
    assert results == {"issued": STOCK, "sold_out": USERS - STOCK}, results
    assert all(o.final for o in outcomes)
    tries = [a for o in outcomes for a in o.attempts]
    throttled = [a for a in tries if a.status in (429, 503)]
    assert throttled, "the default limits should have pushed back on 200 at once"
    assert all(a.retry_after_s >= 1 for a in throttled)  # the gateway always says so
    for o in outcomes:
        for before, after in zip(o.attempts, o.attempts[1:], strict=False):
            assert after.sent_at - before.answered_at >= before.retry_after_s
            assert before.wait_s >= before.retry_after_s
    winners, stock_left = await redis_truth(redis, event_id)
    answers = [answer(o) for o in outcomes]
    assert invariants.check(STOCK, answers, winners, stock_left, expect_sold_out=True) == []
    print(f"\n{len(tries)} tries for {USERS} users; statuses {Counter(a.status for a in tries)}")
