"""Random interleavings of issue calls never break invariants 1, 2 and 5."""

from __future__ import annotations

import asyncio
import secrets

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis

from couponrush.core.outcome import from_reply
from couponrush.rush.oracle import Answer, check
from couponrush.store.batcher import IssueBatcher
from couponrush.store.keys import decode_participant, event_keys
from couponrush.store.nodes import Topology
from couponrush.store.scripts import Scripts, register
from couponrush.web.problems import STATUS
from tests.helpers import issue_via

# Rounds of calls; each round goes out concurrently over several connections.
rounds = st.lists(
    st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=25),
    min_size=1,
    max_size=6,
)


async def _scenario(url: str, total: int, plan: list[list[int]], lanes: int) -> list[str]:
    redis = Redis.from_url(url, decode_responses=True, max_connections=lanes * 2)
    scripts = Scripts.from_package()
    await register(redis, scripts)
    event_id = f"prop-{secrets.token_hex(6)}"
    keys = event_keys(event_id)
    await redis.evalsha(scripts.create_event.sha, 4, *keys.script_keys, total, "", "", "p", 1)
    batchers = [IssueBatcher(Topology(redis), scripts, 5.0, 8) for _ in range(lanes)]
    answers: list[Answer] = []
    for round_users in plan:
        calls = [
            issue_via(batchers[i % lanes], event_id, f"u{u}") for i, u in enumerate(round_users)
        ]
        for user, reply in zip(round_users, await asyncio.gather(*calls), strict=True):
            outcome = from_reply(reply)
            slot = outcome.slot or None
            answers.append(
                Answer(f"u{user}", STATUS[outcome.result], outcome.result, slot, str(slot))
            )
    raw = await redis.hgetall(keys.participants)
    stock = int(await redis.get(keys.stock) or 0)
    await redis.aclose()
    winners = {str(u): decode_participant(v)[0] for u, v in raw.items()}
    distinct = len({u for r in plan for u in r})
    return check(total, answers, winners, stock, expect_sold_out=distinct >= total)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    total=st.integers(min_value=1, max_value=20),
    plan=rounds,
    lanes=st.integers(min_value=1, max_value=4),
)
def test_interleavings_keep_the_invariants(
    redis_url: str, total: int, plan: list[list[int]], lanes: int
) -> None:
    assert asyncio.run(_scenario(redis_url, total, plan, lanes)) == []
