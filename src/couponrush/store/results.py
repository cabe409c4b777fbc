"""Each event's issue answers by result, summed over the app workers, for the live
dashboard's results mix: every worker adds what it answered about once a second
(count_results.lua, nothing for an event Redis does not hold)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from redis.exceptions import NoScriptError

from couponrush.store.client import RedisClient
from couponrush.store.keys import event_keys
from couponrush.store.scripts import Scripts, register


async def add(
    redis: RedisClient, scripts: Scripts, counts: Mapping[str, Mapping[str, int]]
) -> None:
    """Add ``counts`` (event -> result -> answers) to the events' tallies, one pipeline."""
    if not counts:
        return
    replies = await _send(redis, scripts, counts)
    if any(isinstance(r, NoScriptError) for r in replies):  # Redis restarted: load, again
        await register(redis, scripts)
        await _send(redis, scripts, counts)


async def _send(
    redis: RedisClient, scripts: Scripts, counts: Mapping[str, Mapping[str, int]]
) -> list[Any]:
    sha = scripts.count_results.sha
    async with redis.pipeline(transaction=False) as pipe:
        for event_id, per in counts.items():
            keys = event_keys(event_id)
            pairs = [x for result, n in per.items() for x in (result, n)]
            pipe.evalsha(sha, 2, keys.meta, keys.results, *pairs)
        replies: list[Any] = await pipe.execute(raise_on_error=False)
    return replies


async def tally(redis: RedisClient, event_id: str) -> dict[str, float]:
    """The event's answers so far, by result."""
    raw: Any = await redis.hgetall(event_keys(event_id).results)
    return {str(result): float(n) for result, n in raw.items()}
