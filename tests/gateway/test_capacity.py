"""Above the global capacity the excess is shed with 503 + Retry-After, never a hang."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import aiohttp
from redis.asyncio import Redis

from couponrush.rush import oracle as invariants
from couponrush.rush.client import to_answer
from tests.helpers import create_event, redis_truth

from .conftest import AppPool, GatewayFactory

CLIENTS = 600
STOCK = 200


async def _one(
    http: aiohttp.ClientSession, url: str, user: str
) -> tuple[invariants.Answer, float, str | None]:
    started = time.monotonic()
    async with http.post(
        url, json={"user_id": user}, headers={"X-Forwarded-For": f"10.6.{len(user)}.{user[-2:]}"}
    ) as r:
        body = await r.json(content_type=None)
        return (
            to_answer(user, r.status, body),
            time.monotonic() - started,
            r.headers.get("retry-after"),
        )


async def test_excess_over_capacity_gets_503_and_the_rest_is_answered(
    app_pool: AppPool, start_gateway: GatewayFactory, redis: Redis, event_id: str
) -> None:
    with app_pool.direct() as direct:
        create_event(direct, app_pool.admin, event_id, STOCK)
    gw = start_gateway(app_pool, worker_max_conns=2, client_rate_per_s=100_000,
                       client_burst=100_000, trusted_proxies=["127.0.0.0/8"])  # fmt: skip
    url = f"{gw.url}/v1/events/{event_id}/issue"
    timeout = aiohttp.ClientTimeout(total=10)
    connector = aiohttp.TCPConnector(limit=CLIENTS)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
        results = await asyncio.gather(*(_one(http, url, f"cap-{i:04d}") for i in range(CLIENTS)))
    answers = [a for a, _, _ in results]
    statuses = Counter(a.status for a in answers)
    assert statuses[503] > 0, statuses  # the excess was shed
    assert set(statuses) <= {201, 410, 503}, statuses
    spread = range(gw.settings.retry_after_s, gw.settings.retry_after_s + 3)
    for answer, _, retry_after in results:
        if answer.status == 503:
            assert answer.result == "overloaded"
            assert int(retry_after or 0) in spread  # spread over the next seconds
    assert max(elapsed for _, elapsed, _ in results) < 10
    winners, stock_left = await redis_truth(redis, event_id)
    assert invariants.check(STOCK, answers, winners, stock_left) == []
