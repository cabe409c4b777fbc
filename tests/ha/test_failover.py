"""kill -9 of the primary that holds the event, in the middle of a sale through the
gateway, with WAIT on: no oversell, no duplicate, no acknowledged win lost; every answer
definite (503 + Retry-After while failing over, never a 500 or a hang)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest

from couponrush.rush.burst import burst_users
from couponrush.stack.ready import wait_until
from couponrush.store.keys import event_keys
from tests.fixtures.postgres import PgServer
from tests.fixtures.redis_ha import RedisNodes
from tests.ha.sale import Run, Sale, assert_sale_held, running_sale
from tests.helpers import poll

TOTAL, USERS, CONCURRENCY = 800, 2_000, 32


@pytest.fixture(scope="module", params=["cluster", "sentinel"])
def topology(request: pytest.FixtureRequest) -> RedisNodes:
    found: RedisNodes = request.getfixturevalue(f"redis_{request.param}")
    return found


@pytest.fixture(scope="module")
def sale(
    topology: RedisNodes, pg: PgServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Sale]:
    with running_sale(tmp_path_factory.mktemp(topology.mode), topology.settings, pg.url) as found:
        yield found


async def test_killing_the_events_primary_loses_no_acknowledged_win(
    sale: Sale, topology: RedisNodes, db: Any, event_id: str
) -> None:
    sale.create_event(event_id, TOTAL)
    key = event_keys(event_id).stock
    run = Run()
    burst = asyncio.create_task(sale.burst(event_id, burst_users(USERS, USERS), CONCURRENCY, run))

    async def under_way() -> bool:
        return len(run.answers) >= USERS // 10

    await poll(under_way, "the first answers", 30)
    victim = topology.primary_of(key)
    killed_at = time.monotonic() - run.started
    await asyncio.to_thread(topology.kill, victim)
    await asyncio.to_thread(
        wait_until, lambda: topology.primary_of(key) != victim, "a replica promoted", 30
    )
    # Back as a replica of the promoted node (its shard's only one, in the cluster).
    topology.start(victim)
    run = await burst
    await asyncio.to_thread(topology.ready)
    await assert_sale_held(sale, db, event_id, TOTAL, run)
    during = [(t, s) for t, s in run.attempts if t >= killed_at]
    assert any(s == 503 for _, s in during)  # the failover was felt, and answered
    recovered = next(t for t, s in during if s == 201)
    print(
        f"{topology.mode}: 503s after the kill {sum(s == 503 for _, s in during)}, "
        f"first win {recovered - killed_at:.2f} s after it"
    )
