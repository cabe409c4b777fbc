"""The gateway's win lane (lua/couponrush/lane.lua): a win answered by the gateway is the
app's answer byte for byte; anything else reaches the app as if the lane were not there;
a lane that cannot reach Redis sends the request on; a burst keeps every invariant."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import cast

from redis.asyncio import Redis

from couponrush.client import AsyncClient, RetryPolicy
from couponrush.rush import oracle as invariants
from couponrush.rush.burst import answer
from couponrush.stack.procs import free_port
from couponrush.store.keys import bucket_key, event_keys
from tests.helpers import create_event, poll, redis_truth

from .conftest import AppPool, Gateway, GatewayFactory
from .edge import issue

OPEN = {"client_rate_per_s": 100_000, "client_burst": 100_000}
LANE = "couponrush_gateway_lane_total"


async def outbox(redis: Redis, event_id: str) -> list[tuple[str, dict[str, str]]]:
    entries = await redis.xrange(event_keys(event_id).outbox) or []
    return [(cast(str, i), cast(dict[str, str], f)) for i, f in entries]


def lane_count(gw: Gateway, outcome: str) -> float:
    return gw.metrics()[(LANE, outcome)]


def test_a_win_and_its_retry_are_the_apps_answers_byte_for_byte(
    app_pool: AppPool, start_gateway: GatewayFactory, event_id: str
) -> None:
    create_event(app_pool, event_id, 5)
    gw = start_gateway(app_pool, **OPEN)
    won = issue(gw.url, event_id, "alice", **{"X-Request-ID": "lane-win-1"})
    again = issue(gw.url, event_id, "alice")
    assert (won.status_code, again.status_code) == (201, 200)
    assert lane_count(gw, "issued") == 1
    assert lane_count(gw, "already_issued") == 1
    with app_pool.direct() as direct:
        from_app = direct.post(f"/v1/events/{event_id}/issue", json={"user_id": "alice"})
    assert again.content == from_app.content  # code, slot and time as the app signs them
    assert won.content == from_app.content.replace(b'"already_issued"', b'"issued"', 1)
    assert won.headers["content-type"] == from_app.headers["content-type"]
    assert int(won.headers["content-length"]) == len(won.content)
    assert won.headers["x-request-id"] == "lane-win-1"
    assert "x-rejected-by" not in won.headers


async def test_the_win_is_in_the_outbox_with_the_request_id(
    app_pool: AppPool, start_gateway: GatewayFactory, redis: Redis, event_id: str
) -> None:
    create_event(app_pool, event_id, 5)
    gw = start_gateway(app_pool, **OPEN)
    assert issue(gw.url, event_id, "carol", **{"X-Request-ID": "lane-outbox-1"}).status_code == 201
    ((_, fields),) = await outbox(redis, event_id)
    assert (fields["user_id"], fields["slot"], fields["request_id"]) == (
        "carol",
        "1",
        "lane-outbox-1",
    )


async def test_a_refusal_is_the_apps_and_the_lane_takes_no_token(
    app_pool: AppPool, start_gateway: GatewayFactory, redis: Redis, event_id: str
) -> None:
    """Before the window every request reaches Redis. The workers' bucket is 2/s with a
    burst of 3: had the lane taken a token for each refusal too, the second request would
    already be over it."""
    later = datetime.now(UTC) + timedelta(hours=1)
    create_event(app_pool, event_id, 5, starts_at=later)
    gw = start_gateway(app_pool, **OPEN)
    early = [issue(gw.url, event_id, "eager", **{"Accept-Language": "ko"}) for _ in range(4)]
    assert [(a.status_code, a.json()["result"]) for a in early] == [
        *[(409, "not_open")] * 3,
        (429, "rate_limited"),
    ]
    assert early[0].headers["content-language"] == "ko"
    assert lane_count(gw, "pass") == 4
    tokens = await redis.hget(bucket_key(event_id, "eager"), "tokens")
    assert float(tokens or "nan") < 1
    unknown = issue(gw.url, f"{event_id}-none", "someone")
    assert (unknown.status_code, unknown.json()["result"]) == (404, "not_found")


def test_a_lane_that_cannot_reach_redis_sends_the_request_on(
    app_pool: AppPool, start_gateway: GatewayFactory, event_id: str
) -> None:
    create_event(app_pool, event_id, 5)
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    gw = start_gateway(app_pool, redis_url=nowhere, **OPEN)
    won = issue(gw.url, event_id, "dave")
    assert (won.status_code, won.json()["result"]) == (201, "issued")  # the app's win
    assert lane_count(gw, "error") == 1
    assert lane_count(gw, "issued") == 0


ONE_TRY = RetryPolicy(max_attempts=1, timeout_s=10)
USERS, STOCK = 400, 150


async def _burst(url: str, event_id: str, users: list[str]) -> list[invariants.Answer]:
    async with AsyncClient(url, policy=ONE_TRY) as client:
        return [answer(await client.issue(event_id, u, request_id=f"rq-{u}")) for u in users]


async def test_a_burst_through_the_lane_keeps_every_invariant(
    app_pool: AppPool, start_gateway: GatewayFactory, redis: Redis, event_id: str
) -> None:
    create_event(app_pool, event_id, STOCK)
    gw = start_gateway(app_pool, **OPEN)
    users = [f"lb-{i:04d}" for i in range(USERS)]
    shares = await asyncio.gather(*(_burst(gw.url, event_id, users[i::40]) for i in range(40)))
    answers = [a for share in shares for a in share]
    assert Counter(a.status for a in answers) == {201: STOCK, 410: USERS - STOCK}
    winners, stock_left = await redis_truth(redis, event_id)
    assert invariants.check(STOCK, answers, winners, stock_left, expect_sold_out=True) == []
    assert lane_count(gw, "issued") == STOCK
    entries = await outbox(redis, event_id)
    assert {f["request_id"] for _, f in entries} == {f"rq-{u}" for u in winners}

    async def tallied() -> bool:  # the dashboard's results mix counts the lane's wins
        return await redis.hget(event_keys(event_id).results, "issued") == str(STOCK)

    await poll(tallied, "the lane's wins in the event's tally", 10)


def test_the_lane_is_off_by_the_setting_and_in_cluster_mode(
    app_pool: AppPool, start_gateway: GatewayFactory
) -> None:
    enabled = ("couponrush_gateway_lane_enabled", "")
    for off in ({"gateway_wins": False}, {"redis_mode": "cluster"}):
        assert start_gateway(app_pool, **off).metrics()[enabled] == 0
    assert start_gateway(app_pool).metrics()[enabled] == 1
