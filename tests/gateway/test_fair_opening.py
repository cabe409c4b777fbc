"""A shuffled opening through the gateway, end to end with the SDK's queue_and_issue:
the invariants of DESIGN §1, nobody issuing before its wave, the order anyone can
recompute, the queue closing at the sell-out (every waiting client told on its next
poll), and the state document answered from the gateway's cache (docs/fair-opening.md)."""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from redis.asyncio import Redis

from couponrush.client import AsyncClient, Client, IssueOutcome
from couponrush.core.admission import POLL_S
from couponrush.core.queue import ticket, verify
from couponrush.rush import oracle as invariants
from couponrush.rush.burst import answer
from couponrush.store.keys import decode_participant, event_keys
from tests.gateway.conftest import AppPool, GatewayFactory, start_pool, stop_pool
from tests.helpers import create_event, redis_truth

EARLY, LATE, STOCK, WAVE, EVERY_S = 48, 12, 12, 5, 0.5
OPENS_IN_S = 4.0
# One poll after the sell-out, plus the age the cached document may have, plus slack for
# a busy machine: the longest a waiting client may go on waiting.
TOLD_WITHIN_S = 2 * POLL_S + 1.5


async def _shopper(
    url: str, event_id: str, user: str, delay_s: float
) -> tuple[IssueOutcome, float]:
    await asyncio.sleep(delay_s)  # its arrival
    if user.endswith("-sync"):  # one of them through the sync client
        outcome = await asyncio.to_thread(_sync_shopper, url, event_id, user)
    else:
        async with AsyncClient(url) as client:
            outcome = await client.queue_and_issue(event_id, user, max_wait_s=60)
    return outcome, time.time()


def _sync_shopper(url: str, event_id: str, user: str) -> IssueOutcome:
    with Client(url) as client:
        return client.queue_and_issue(event_id, user, max_wait_s=60)


def _arrivals() -> dict[str, float]:
    early = {f"early-{i:02d}": i * 0.02 for i in range(EARLY)}
    early["early-00-sync"] = early.pop("early-00")
    return early | {f"late-{i:02d}": OPENS_IN_S + 0.2 + i * 0.1 for i in range(LATE)}


async def test_a_shuffled_sale_through_the_gateway_keeps_every_invariant(
    redis_url: str, redis: Redis, start_gateway: GatewayFactory, tmp_path: Path, event_id: str
) -> None:
    pool = start_pool(redis_url, tmp_path / "pool", 2)
    try:
        gw = start_gateway(pool, client_rate_per_s=100_000, client_burst=100_000)
        starts = datetime.now(UTC) + timedelta(seconds=OPENS_IN_S)
        event = create_event(
            pool,
            event_id,
            STOCK,
            starts_at=starts,
            opening="shuffled",
            admit_per_wave=WAVE,
            admit_every_s=EVERY_S,
        )
        arrivals = _arrivals()
        done = await asyncio.gather(
            *(_shopper(gw.url, event_id, u, d) for u, d in arrivals.items())
        )
        async with AsyncClient(gw.url) as client:
            order = await client.queue_order(event_id)
        gw_answers = await _other_answers(pool, gw.url, event_id)
    finally:
        stop_pool(pool)
    outcomes = {o.user_id: o for o, _ in done}
    assert Counter(o.result for o in outcomes.values()) == {
        "issued": STOCK,
        "sold_out": EARLY + LATE - STOCK,
    }
    winners, stock_left = await redis_truth(redis, event_id)
    answers = [answer(o) for o in outcomes.values()]
    assert invariants.check(STOCK, answers, winners, stock_left, expect_sold_out=True) == []
    assert verify(event.commitment or "", order.seed, order.prequeue, order.late).ok
    positions = {
        u: order.prequeue.index(ticket(event_id, u)) + 1
        for u in arrivals
        if ticket(event_id, u) in order.prequeue
    }
    assert set(positions) == {u for u in arrivals if u.startswith("early")}
    issued_at = await _issued_at(redis, event_id)
    opened_ms = int(starts.timestamp() * 1000)
    for user in winners:  # nobody before its wave, to Redis's clock
        wave = math.ceil(positions[user] / WAVE) - 1
        assert issued_at[user] >= opened_ms + wave * EVERY_S * 1000, (user, positions[user])
    sold_out_at = max(issued_at.values()) / 1000
    told = [at - sold_out_at for o, at in done if o.result == "sold_out"]
    assert max(told) <= TOLD_WITHIN_S, sorted(told)[-5:]
    _state_answered_by_the_cache(gw.access_log(), event_id)
    assert gw_answers["head"] == 200
    assert gw_answers["no_queue"] == 409  # not kept: on to the app, which says why
    print(
        f"\nsold out told within {max(told):.2f} s; winners' positions "
        f"{sorted(positions[u] for u in winners)}"
    )


async def _other_answers(pool: AppPool, url: str, event_id: str) -> dict[str, int]:
    """A HEAD of the state document, and the state of an event without a queue."""
    create_event(pool, f"{event_id}-fifo", 1)
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        head = await http.head(f"/v1/events/{event_id}/queue/state")
        fifo = await http.get(f"/v1/events/{event_id}-fifo/queue/state")
    assert fifo.json()["result"] == "no_queue"
    return {"head": head.status_code, "no_queue": fifo.status_code}


async def _issued_at(redis: Redis, event_id: str) -> dict[str, int]:
    raw = await redis.hgetall(event_keys(event_id).participants)
    return {str(user): decode_participant(value)[1] for user, value in raw.items()}


def _state_answered_by_the_cache(log: list[dict[str, object]], event_id: str) -> None:
    """Most polls never reached a worker: the gateway's workers answer from their copy
    (lua/couponrush/queue_state.lua), fetched about once a second each."""
    polls = [line for line in log if line["uri"] == f"/v1/events/{event_id}/queue/state"]
    at_app = [line for line in polls if line["upstream"]]
    assert {line["status"] for line in polls} == {200}
    seconds = {str(line["time"]) for line in polls}
    assert len(polls) > 3 * len(at_app), (len(polls), len(at_app))
    assert len(at_app) <= len(seconds) + 2, (len(at_app), len(seconds))
