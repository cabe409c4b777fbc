"""Above the global capacity the excess is shed with 503 + Retry-After, never a hang."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from redis.asyncio import Redis

from couponrush.client import AsyncClient, IssueOutcome, RetryPolicy
from couponrush.rush import oracle as invariants
from couponrush.rush.burst import answer
from tests.helpers import create_event, redis_truth

from .conftest import AppPool, GatewayFactory

CLIENTS = 600
STOCK = 200


ONE_TRY = RetryPolicy(max_attempts=1, timeout_s=10)  # to see every shed request


async def _one(url: str, event_id: str, user: str) -> tuple[IssueOutcome, float]:
    started = time.monotonic()
    async with AsyncClient(url, policy=ONE_TRY) as client:
        address = {"X-Forwarded-For": f"10.6.{len(user)}.{user[-2:]}"}
        outcome = await client.issue(event_id, user, headers=address)
    return outcome, time.monotonic() - started


async def test_excess_over_capacity_gets_503_and_the_rest_is_answered(
    app_pool: AppPool, start_gateway: GatewayFactory, redis: Redis, event_id: str
) -> None:
    create_event(app_pool, event_id, STOCK)
    gw = start_gateway(
        app_pool,
        worker_max_conns=2,
        client_rate_per_s=100_000,
        client_burst=100_000,
        trusted_proxies=["127.0.0.0/8"],
    )
    results = await asyncio.gather(
        *(_one(gw.url, event_id, f"cap-{i:04d}") for i in range(CLIENTS))
    )
    answers = [answer(outcome) for outcome, _ in results]
    statuses = Counter(a.status for a in answers)
    assert statuses[503] > 0, statuses  # the excess was shed
    assert set(statuses) <= {201, 410, 503}, statuses
    spread = range(gw.settings.retry_after_s, gw.settings.retry_after_s + 3)
    for outcome, _ in results:
        if outcome.status == 503:
            assert outcome.result == "overloaded"
            # spread over the next seconds
            assert int(outcome.attempts[0].retry_after_s) in spread
    assert max(elapsed for _, elapsed in results) < 10
    winners, stock_left = await redis_truth(redis, event_id)
    assert invariants.check(STOCK, answers, winners, stock_left) == []
