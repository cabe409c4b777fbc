"""20,000 concurrent requests from 5,000 users for 1,000 coupons, over real HTTP."""

from __future__ import annotations

from collections import Counter

from redis.asyncio import Redis

from couponrush.rush import oracle as invariants
from couponrush.rush.burst import burst_users, run_burst
from tests.fixtures.app import AppServer
from tests.helpers import create_event, redis_truth

STOCK, USERS, REQUESTS = 1_000, 5_000, 20_000


async def test_flash_sale_over_http_keeps_every_invariant(
    app_server: AppServer, redis: Redis, event_id: str
) -> None:
    create_event(app_server, event_id, STOCK)
    order = burst_users(REQUESTS, USERS, seed=11)
    answers = await run_burst(app_server.url, event_id, order, 200, show_progress=False)
    winners, stock_left = await redis_truth(redis, event_id)

    assert invariants.check(STOCK, answers, winners, stock_left, expect_sold_out=True) == []
    results = Counter(a.result for a in answers)
    assert results["issued"] == STOCK
    assert set(results) <= {"issued", "already_issued", "sold_out"}, results
    assert len(answers) == REQUESTS
    assert not [a for a in answers if a.status >= 500]
    issued = [a for a in answers if a.result == "issued"]
    assert len({a.user_id for a in issued}) == STOCK
    assert sorted(a.slot or 0 for a in issued) == list(range(1, STOCK + 1))
    codes = {a.user_id: a.coupon_code for a in issued}
    for again in (a for a in answers if a.result == "already_issued"):
        assert codes.get(again.user_id) == again.coupon_code
