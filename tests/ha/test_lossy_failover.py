"""A failover to replicas that lack the last wins (they were paused: CLIENT PAUSE WRITE
stops them applying the stream while they keep acknowledging it), through the gateway.

WAIT on: those wins were never answered "issued" (503, then the retry wins on the new
primary), and the consumer persisted none of them: nothing lost, reconcile clean.
WAIT off: they were answered "issued" and are gone; reconcile, given the wins the clients
were told, reports every one of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from couponrush.rush.burst import burst_users
from couponrush.stack import redis_nodes
from couponrush.stack.ready import wait_until
from couponrush.store.keys import event_keys
from tests.fixtures.postgres import PgServer
from tests.fixtures.redis_ha import RedisNodes
from tests.ha.sale import Sale, assert_sale_held, reconcile, redis_truth, running_sale
from tests.helpers import poll, wait_rows

TOTAL, CONCURRENCY = 400, 32
BEFORE, DURING, AFTER = 100, 300, 300


@pytest.fixture(scope="module", params=["cluster", "sentinel"])
def topology(request: pytest.FixtureRequest) -> RedisNodes:
    found: RedisNodes = request.getfixturevalue(f"redis_{request.param}")
    return found


@pytest.fixture(scope="module", params=["wait", "no-wait"])
def sale(
    topology: RedisNodes,
    pg: PgServer,
    tmp_path_factory: pytest.TempPathFactory,
    request: pytest.FixtureRequest,
) -> Iterator[Sale]:
    wait = "1" if request.param == "wait" else "0"
    work = tmp_path_factory.mktemp(f"{topology.mode}-{request.param}")
    with running_sale(work, topology.settings, pg.url, redis_wait_replicas=wait) as found:
        yield found


def _replicas_of(topology: RedisNodes, primary: int) -> list[int]:
    return [p for p in topology.data_ports if _replication(p).get("master_port") == primary]


def _replication(port: int) -> dict[str, Any]:
    return redis_nodes.info(port, "replication")


def _link_down(port: int) -> Callable[[], bool]:
    return lambda: _replication(port)["master_link_status"] == "down"


def _fail_over(topology: RedisNodes, key: str, primary: int, paused: list[int]) -> None:
    """kill -9 the primary; once the paused replicas lost their link (their unapplied
    stream is dropped) let them go on; wait until one is promoted; restart the old one."""
    written = redis_nodes.info(primary, "replication")["master_repl_offset"]
    assert all(_replication(p)["slave_repl_offset"] < written for p in paused)  # they lag
    topology.kill(primary)
    for port in paused:
        wait_until(_link_down(port), "the replica to see its primary gone", 10)
        redis_nodes.ask(port, "CLIENT", "UNPAUSE")
    wait_until(lambda: topology.primary_of(key) != primary, "a replica promoted", 30)
    topology.start(primary)


async def test_a_failover_to_replicas_without_the_last_wins(
    sale: Sale, topology: RedisNodes, db: Any, event_id: str
) -> None:
    sale.create_event(event_id, TOTAL)
    key = event_keys(event_id).stock
    users = burst_users(BEFORE + DURING + AFTER, BEFORE + DURING + AFTER)
    run = await sale.burst(event_id, users[:BEFORE], CONCURRENCY)
    await wait_rows(db, event_id, BEFORE)
    primary = topology.primary_of(key)
    paused = _replicas_of(topology, primary)
    for port in paused:
        redis_nodes.ask(port, "CLIENT", "PAUSE", 10_000, "WRITE")
    during = asyncio.create_task(sale.burst(event_id, users[BEFORE:-AFTER], CONCURRENCY, run))

    participants = event_keys(event_id).participants

    async def written() -> bool:
        """Every lane's win made on the primary alone; with WAIT off, all of them answered
        (with WAIT on they are answered 503, and retried)."""
        made = int(redis_nodes.ask(primary, "HLEN", participants)) - BEFORE
        answered = sale.settings.wait_replicas or len(run.answers) >= BEFORE + DURING
        return made >= CONCURRENCY and bool(answered)

    await poll(written, "the burst on the paused replicas", 30)
    await asyncio.to_thread(_fail_over, topology, key, primary, paused)
    await during
    await sale.burst(event_id, users[-AFTER:], CONCURRENCY, run)
    await asyncio.to_thread(topology.ready)
    if sale.settings.wait_replicas:
        await assert_sale_held(sale, db, event_id, TOTAL, run)
        return
    winners, _ = await redis_truth(sale, event_id)
    lost = {c["user_id"] for c in run.told() if winners.get(c["user_id"]) != c["slot"]}
    print(f"{topology.mode}, WAIT off: {len(run.told())} told 'issued', {len(lost)} lost")
    assert lost  # the recipe holds: the failover forgot acknowledged wins ...
    report = reconcile(sale, event_id, run)
    assert set(report["lost_acknowledged"]) == lost  # ... and reconcile names each one
    assert not report["ok"]
