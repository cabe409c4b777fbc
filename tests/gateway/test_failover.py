"""Kill one app worker mid-burst: the gateway routes around it and re-sends no POST."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections import Counter
from pathlib import Path
from typing import cast

import pytest
from redis.asyncio import Redis

from couponrush.client import AsyncClient, RetryPolicy
from couponrush.rush import oracle as invariants
from couponrush.rush.burst import answer
from couponrush.store.keys import event_keys
from tests.helpers import create_event, redis_truth

from .conftest import AppPool, GatewayFactory, start_pool, stop_pool

USERS = 3_000
CONCURRENCY = 64


ONE_TRY = RetryPolicy(max_attempts=1, timeout_s=10)  # a retry would hide a lost request


async def _client(
    url: str,
    event_id: str,
    queue: list[str],
    answers: list[invariants.Answer],
    third: asyncio.Event,
) -> None:
    async with AsyncClient(url, policy=ONE_TRY) as client:
        while queue:
            if len(answers) >= USERS // 3:
                third.set()
            user = queue.pop()
            answers.append(answer(await client.issue(event_id, user, request_id=f"rq-{user}")))


async def test_killing_a_worker_fails_only_its_in_flight_requests(
    redis_url: str, redis: Redis, start_gateway: GatewayFactory, tmp_path: Path, event_id: str
) -> None:
    pool = start_pool(redis_url, tmp_path / "pool", 2, user_rate_per_s="0")
    try:
        await _run(pool, redis, start_gateway, event_id)
    finally:
        stop_pool(pool)


async def _run(pool: AppPool, redis: Redis, start_gateway: GatewayFactory, event_id: str) -> None:
    create_event(pool, event_id, USERS * 2)
    # Capacity well above the clients' concurrency: no 503 here may come from shedding.
    gw = start_gateway(pool, client_rate_per_s=100_000, client_burst=100_000, worker_max_conns=512)
    queue = [f"fo-{i:05d}" for i in range(USERS)]
    answers: list[invariants.Answer] = []
    third = asyncio.Event()
    clients = asyncio.gather(
        *(_client(gw.url, event_id, queue, answers, third) for _ in range(CONCURRENCY))
    )
    await asyncio.wait_for(third.wait(), timeout=30)
    os.killpg(pool.processes[0].pid, signal.SIGKILL)  # granian and its worker
    await clients
    statuses = Counter(a.status for a in answers)
    assert set(statuses) <= {201, 503}, statuses  # 503: in flight on the killed worker
    assert statuses[503] <= CONCURRENCY, statuses  # at most what was in flight
    assert statuses[201] >= USERS - statuses[503]
    assert not [a for a in answers if a.result == "already_issued"]  # no POST went twice
    winners, stock_left = await redis_truth(redis, event_id)
    assert invariants.check(USERS * 2, answers, winners, stock_left) == []
    outbox = await redis.xrange(event_keys(event_id).outbox) or []
    entries = [cast(dict[str, str], fields) for _, fields in outbox]
    assert entries
    assert all(f["request_id"] == f"rq-{f['user_id']}" for f in entries)
    assert pool.processes[0].wait(timeout=5) == -signal.SIGKILL
    with pytest.raises(ConnectionRefusedError), socket.socket(socket.AF_UNIX) as probe:
        probe.connect(pool.sockets[0])  # nothing serves the killed worker's socket
    served_after = [a for a in answers[-USERS // 3 :] if a.status == 201]
    assert len(served_after) == USERS // 3  # the gateway routed around it
