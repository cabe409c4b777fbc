"""Standalone Redis mid-sale: a kill -9 and restart, where AOF loses nothing; and data
loss (FLUSHALL), after which `restore` rebuilds the event from the database and the sale
goes on without ever passing N."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from couponrush.rush.burst import burst_users
from couponrush.stack import redis_nodes
from tests.fixtures.postgres import PgServer
from tests.fixtures.redis_ha import RedisNodes
from tests.ha.sale import Run, Sale, assert_sale_held, reconcile, redis_truth, running_sale
from tests.helpers import db_rows, poll, row_count

TOTAL, USERS, CONCURRENCY = 800, 2_000, 32


@pytest.fixture(scope="module")
def sale(
    redis_standalone: RedisNodes, pg: PgServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sale]:
    work = tmp_path_factory.mktemp("standalone")
    with running_sale(work, redis_standalone.settings, pg.url) as found:
        yield found


async def _when(run: Run, answers: int) -> None:
    async def enough() -> bool:
        return len(run.answers) >= answers

    await poll(enough, f"{answers} answers", 30)


async def test_a_restart_mid_sale_loses_nothing_with_aof(
    sale: Sale, redis_standalone: RedisNodes, db: Any, event_id: str
) -> None:
    sale.create_event(event_id, TOTAL)
    run = Run()
    burst = asyncio.create_task(sale.burst(event_id, burst_users(USERS, USERS), CONCURRENCY, run))
    await _when(run, USERS // 10)
    port = redis_standalone.data_ports[0]
    await asyncio.to_thread(redis_standalone.kill, port)
    redis_standalone.start(port)  # replays the append-only file
    await asyncio.to_thread(redis_standalone.ready)
    run = await burst
    assert run.statuses()[503] > 0  # the restart was felt, and answered
    await assert_sale_held(sale, db, event_id, TOTAL, run)


async def test_restore_after_data_loss_mid_sale_never_passes_n(
    sale: Sale, redis_standalone: RedisNodes, db: Any, event_id: str
) -> None:
    sale.create_event(event_id, TOTAL)
    users = burst_users(USERS, USERS)
    run = Run()
    burst = asyncio.create_task(sale.burst(event_id, users[: USERS // 2], CONCURRENCY, run))
    await _when(run, USERS // 10)
    redis_nodes.ask(redis_standalone.data_ports[0], "FLUSHALL")  # the data is gone
    await burst
    async with httpx.AsyncClient(base_url=sale.url) as http:
        gone = await http.get(f"/v1/events/{event_id}")
    assert gone.status_code == 404
    await _settled(db, event_id)  # nothing of the consumer's in flight any more
    assert sale.cli("restore", event_id).returncode == 0
    await sale.burst(event_id, users[USERS // 2 :], CONCURRENCY, run)

    winners, stock = await redis_truth(sale, event_id)
    assert len(winners) == TOTAL  # sold out again, at exactly N
    assert stock == 0
    assert sorted(winners.values()) == list(range(1, TOTAL + 1))
    await poll(lambda: _count_is(db, event_id, TOTAL), "every row", 30)
    rows = await db_rows(db, event_id)
    assert {user: slot for user, (slot, _) in rows.items()} == winners
    # Wins told before the loss but not yet persisted are gone: each one is named.
    lost = {c["user_id"] for c in run.told() if winners.get(c["user_id"]) != c["slot"]}
    report = reconcile(sale, event_id, run)
    assert set(report["lost_acknowledged"]) == lost
    assert set(report["breaches"]) <= {"lost_acknowledged"}


async def _count_is(db: Any, event_id: str, n: int) -> bool:
    return await row_count(db, event_id) == n


async def _settled(db: Any, event_id: str) -> None:
    """The row count stays the same over a consumer batch interval (50 ms) several times."""
    last, same, deadline = -1, 0, time.monotonic() + 30
    while same < 5 and time.monotonic() < deadline:
        count = await row_count(db, event_id)
        same, last = (same + 1 if count == last else 0), count
        await asyncio.sleep(0.1)
    assert same >= 5, "the consumer did not settle"
