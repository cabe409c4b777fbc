"""A restore re-opens a sold-out event: neither the gateway's edge nor the app workers'
caches may still answer "sold out" from before it once the restored stock is there."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest
from redis.asyncio import Redis

from couponrush.core.event import Event
from couponrush.core.win import Win
from couponrush.db.repository import Repository
from couponrush.store.keys import decode_participant, event_keys
from tests.fixtures.postgres import PgServer
from tests.helpers import run_cli

from .conftest import AppPool, GatewayFactory, stop_pool
from .edge import EDGE, LEASE_MS, issue, sold_out, start_edge_pool, wait_for_edge


@pytest.fixture(scope="module")
def pool(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppPool]:
    pool = start_edge_pool(redis_url, tmp_path_factory.mktemp("restore"))
    yield pool
    stop_pool(pool)


async def persist(
    pg: PgServer, redis: Redis, event_id: str, total: int, codes: dict[str, str]
) -> None:
    """The coupons row and the rows of ``codes``' winners, as the consumer writes them."""
    repo = await Repository.connect(pg.url)
    try:
        await repo.create_event(Event(event_id, f"Event {event_id}", total, None, None))
        held = await redis.hmget(event_keys(event_id).participants, list(codes))
        wins = [
            Win(event_id, user, *decode_participant(str(value)), f"r-{user}")
            for user, value in zip(codes, held, strict=True)
        ]
        await repo.insert_wins(wins, list(codes.values()))
    finally:
        await repo.close()


class Hammer:
    """A winner asking again and again, straight at the worker, until stopped: it keeps
    the worker's cache verified (a check every half lease) right up to the restore."""

    def __init__(self, pool: AppPool, event_id: str, user: str) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(pool, event_id, user))
        self.answers: list[str] = []

    def _run(self, pool: AppPool, event_id: str, user: str) -> None:
        deadline = time.monotonic() + 30
        with pool.direct() as direct:
            while not self._stop.is_set() and time.monotonic() < deadline:
                sent = direct.post(f"/v1/events/{event_id}/issue", json={"user_id": user})
                self.answers.append(sent.json()["result"])
                self._stop.wait(0.02)

    def __enter__(self) -> Hammer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)


async def test_a_restore_fences_the_edge_and_the_caches_before_the_stock_is_back(
    pool: AppPool, start_gateway: GatewayFactory, pg: PgServer, redis: Redis, event_id: str
) -> None:
    # A slow poll, so that an edge without the fence would still say sold out afterwards.
    gw = start_gateway(pool, **{**EDGE, "edge_poll_ms": LEASE_MS // 2})
    codes = sold_out(pool, gw, event_id, 3)
    wait_for_edge(gw, event_id)
    # The database has only w0's win, and Redis lost w1's and w2's (their winners and
    # their outbox entries): nobody holds slots 2 and 3, and the restore gives them back.
    await persist(pg, redis, event_id, 3, {"w0": codes["w0"]})
    keys = event_keys(event_id)
    await redis.hdel(keys.participants, "w1", "w2")
    await redis.delete(keys.outbox)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUPONRUSH_")}
    env.update(
        COUPONRUSH_REDIS_URL=pool.redis_url,
        COUPONRUSH_DATABASE_URL=pg.url,
        COUPONRUSH_SOLDOUT_LEASE_MS=str(LEASE_MS),
    )
    with Hammer(pool, event_id, "w0") as hammer:
        run_cli(["restore", event_id, "--force"], env, check=True)
    assert set(hammer.answers) == {"already_issued"}
    # At once, through the edge and straight at the worker's cache: the stock is back.
    reopened = issue(gw.url, event_id, "after-restore")
    assert (reopened.status_code, reopened.json()["slot"]) == (201, 2), reopened.text
    with pool.direct() as direct:
        also = direct.post(f"/v1/events/{event_id}/issue", json={"user_id": "direct"})
    assert (also.status_code, also.json()["slot"]) == (201, 3), also.text
    assert issue(gw.url, event_id, "w0").json()["coupon_code"] == codes["w0"]
    assert issue(gw.url, event_id, "later").status_code == 410
    wait_for_edge(gw, event_id)  # sold out again, and learnt again
