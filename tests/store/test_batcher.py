"""The pipelining batcher: NOSCRIPT recovery and a deadline when Redis is gone."""

from __future__ import annotations

import asyncio
import time

import pytest
from redis.asyncio import Redis

from couponrush.core.errors import StoreUnavailable
from couponrush.stack.procs import free_port
from couponrush.store.batcher import IssueBatcher
from couponrush.store.nodes import Topology
from couponrush.store.scripts import Scripts
from tests.helpers import issue_via

from .test_lua import create


async def test_many_calls_of_one_tick_share_a_pipeline_and_all_resolve(
    redis: Redis, scripts: Scripts, event_id: str
) -> None:
    await create(redis, scripts, event_id, 50)
    batcher = IssueBatcher(Topology(redis), scripts, 2.0, 16)
    calls = [issue_via(batcher, event_id, f"u{i}") for i in range(80)]
    replies = await asyncio.gather(*calls)
    results = [r[0] for r in replies]
    assert results.count("ISSUED") == 50
    assert results.count("SOLD_OUT") == 30
    assert sorted(r[1] for r in replies if r[0] == "ISSUED") == list(range(1, 51))


async def test_noscript_after_a_flush_is_recovered(
    redis: Redis, scripts: Scripts, event_id: str
) -> None:
    await create(redis, scripts, event_id, 5)
    await redis.script_flush()
    batcher = IssueBatcher(Topology(redis), scripts, 2.0, 16)
    reply = await issue_via(batcher, event_id, "u1")
    assert reply[0] == "ISSUED"


async def test_unreachable_redis_fails_fast_with_a_retryable_error(scripts: Scripts) -> None:
    dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=5)
    batcher = IssueBatcher(Topology(dead), scripts, 0.3, 16)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        await issue_via(batcher, "x", "u1")
    assert time.monotonic() - started < 2
    await dead.aclose()


async def test_a_redis_that_never_answers_hits_the_deadline(scripts: Scripts) -> None:
    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.read(1 << 20)  # take the request, never reply
            await reader.read()  # until the client hangs up
        finally:
            writer.close()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    silent = Redis.from_url(f"redis://127.0.0.1:{port}/0")
    batcher = IssueBatcher(Topology(silent), scripts, 0.3, 16)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable):
        await issue_via(batcher, "x", "u1")
    assert time.monotonic() - started < 2
    await silent.aclose()
    server.close()
    await server.wait_closed()
