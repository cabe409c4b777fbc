"""The global request-rate bound: beyond it the gateway answers 503 overloaded at once, with
a Retry-After that spreads the retries; the edge's answers do not count against it."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx
from redis.asyncio import Redis

from couponrush.rush import oracle as invariants
from tests.helpers import create_event, redis_truth

from .conftest import AppPool, GatewayFactory
from .edge import EDGE, at_edge, issue, sold_out, wait_for_edge

CLIENTS = 150
STOCK = 1_000
RATE = 5  # per worker: 10 a second for the two workers of app_pool
OPEN = {"client_rate_per_s": 100_000, "client_burst": 100_000, "conn_per_client": 1_000}


async def _one(http: httpx.AsyncClient, event_id: str, user: str) -> httpx.Response:
    return await http.post(f"/v1/events/{event_id}/issue", json={"user_id": user})


def answer(user: str, response: httpx.Response) -> invariants.Answer:
    body = response.json()
    return invariants.Answer(
        user, response.status_code, body["result"], body.get("slot"), body.get("coupon_code")
    )


async def test_beyond_the_rate_bound_requests_get_503_overloaded_with_spread_retry_after(
    app_pool: AppPool, start_gateway: GatewayFactory, redis: Redis, event_id: str
) -> None:
    create_event(app_pool, event_id, STOCK)
    gw = start_gateway(app_pool, worker_rate_per_s=RATE, retry_after_spread_s=2, **OPEN)
    users = [f"ov-{i}" for i in range(CLIENTS)]
    limits = httpx.Limits(max_connections=100)
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=gw.url, timeout=10, limits=limits) as http:
        responses = await asyncio.gather(*(_one(http, event_id, u) for u in users))
    seconds = time.monotonic() - started
    statuses = Counter(r.status_code for r in responses)
    shed = [r for r in responses if r.status_code == 503]
    assert set(statuses) == {201, 503}, statuses
    # The sliding second lets through at most the bound, plus up to that again at its start.
    assert statuses[201] <= 2 * RATE * (seconds + 1), (statuses, seconds)
    assert all(r.json()["result"] == "overloaded" for r in shed)
    assert all(r.headers["x-rejected-by"] == "gateway" for r in shed)
    retry_after = Counter(r.headers["retry-after"] for r in shed)
    assert set(retry_after) == {"1", "2", "3"}, retry_after  # spread, not one herd
    metrics = gw.metrics()
    assert metrics[("couponrush_gateway_shed_total", "")] == len(shed)
    assert not [line for line in gw.access_log() if line["status"] == 503 and line["upstream"]]
    winners, stock_left = await redis_truth(redis, event_id)
    answers = [answer(u, r) for u, r in zip(users, responses, strict=True)]
    assert invariants.check(STOCK, answers, winners, stock_left) == []


def test_the_edge_answers_are_not_counted_against_the_rate_bound(
    app_pool: AppPool, start_gateway: GatewayFactory, event_id: str
) -> None:
    gw = start_gateway(app_pool, **{**EDGE, **OPEN, "worker_rate_per_s": 2})
    sold_out(pool=app_pool, gw=gw, event_id=event_id, winners=1)
    wait_for_edge(gw, event_id)
    answers = [issue(gw.url, event_id, f"late-{i}") for i in range(60)]
    assert all(at_edge(a) for a in answers)  # 60 in well under a second, bound at 4 a second
