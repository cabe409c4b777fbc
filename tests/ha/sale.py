"""A flash sale under faults: app workers behind an nginx gateway and a consumer, on the
Redis a test gives, clients that retry 503 as told, and the end-of-run checks against
Redis and PostgreSQL (DESIGN §1, reconcile with the wins the clients were told)."""

from __future__ import annotations

import asyncio
import json
import secrets
import subprocess
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from couponrush.client import ApiError, AsyncClient, RetryPolicy
from couponrush.rush import oracle
from couponrush.rush.burst import answer
from couponrush.settings import Settings
from couponrush.stack import nginx
from couponrush.stack.commands import app_argv, nginx_argv
from couponrush.stack.procs import free_port, spawn, stop
from couponrush.stack.ready import http_ready, wait_until
from couponrush.store import client
from couponrush.store.events import EventStore
from couponrush.store.scripts import Scripts
from tests.fixtures.app import app_env
from tests.helpers import CLI, db_rows, run_cli, wait_rows

# A client retries 503 for up to a minute: longer than any failover here.
POLICY = RetryPolicy(max_attempts=40, deadline_s=60, timeout_s=10)
ONE_CONNECTION = httpx.Limits(max_connections=1, max_keepalive_connections=1)
PIPELINE = {"consumer_block_ms": "50", "reclaim_idle_ms": "1000", "retry_cap_s": "1",
            "log_level": "warning"}  # fmt: skip


@dataclass
class Run:
    """What the clients saw: final answers, and every attempt as (seconds, status)."""

    answers: list[oracle.Answer] = field(default_factory=list)
    attempts: list[tuple[float, int]] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    def statuses(self) -> Counter[int]:
        return Counter(status for _, status in self.attempts)

    def told(self) -> list[dict[str, Any]]:
        return [
            {"user_id": a.user_id, "slot": a.slot, "coupon_code": a.coupon_code}
            for a in self.answers
            if a.result in oracle.WIN_RESULTS
        ]


@dataclass
class Sale:
    url: str
    env: dict[str, str]
    settings: Settings
    work: Path

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.env['COUPONRUSH_ADMIN_TOKEN']}"}

    def create_event(self, event_id: str, stock: int) -> None:
        body = {"event_id": event_id, "name": event_id, "total_stock": stock}
        done = httpx.post(f"{self.url}/v1/events", json=body, headers=self.admin, timeout=10)
        assert done.status_code == 201, done.text

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(list(args), self.env, timeout=60)

    async def burst(
        self, event_id: str, users: Sequence[str], concurrency: int, run: Run | None = None
    ) -> Run:
        """Every user until a final answer (or the retry budget is spent); ``run`` can be
        watched while this goes on."""
        run = run or Run()
        queue = list(reversed(users))

        async def lane() -> None:
            async with AsyncClient(self.url, policy=POLICY, limits=ONE_CONNECTION) as client:
                while queue:
                    user = queue.pop()
                    try:
                        outcome = await client.issue(event_id, user)
                    except ApiError as exc:  # a 404 while Redis lost the event, or a defect
                        run.attempts.append((time.monotonic() - run.started, exc.status))
                        run.answers.append(oracle.Answer(user, exc.status, exc.result))
                        continue
                    run.attempts += [
                        (a.answered_at - run.started, a.status) for a in outcome.attempts
                    ]
                    run.answers.append(answer(outcome))

        await asyncio.gather(*(lane() for _ in range(concurrency)))
        return run


@contextmanager
def running_sale(
    work: Path, redis: dict[str, str], database_url: str, workers: int = 2, **settings: str
) -> Iterator[Sale]:
    """Workers, gateway and consumer on ``redis`` (settings by field name), stopped after."""
    token, secret = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
    extra = {k: v for k, v in redis.items() if k != "redis_url"} | PIPELINE | settings
    env = app_env(
        redis["redis_url"],
        token,
        secret,
        work / "metrics",
        database_url=database_url,
        user_rate_per_s="0",
        **extra,
    )
    gateway = Settings(
        client_rate_per_s=1_000_000,
        client_burst=1_000_000,
        worker_max_conns=1024,
        conn_per_client=60_000,
    )
    sockets = [work / f"app-{i}.sock" for i in range(workers)]
    port = free_port()
    conf = nginx.write_config(
        gateway, f"127.0.0.1:{port}", [f"unix:{s}" for s in sockets], work / "nginx"
    )
    with ExitStack() as stack:
        for i, sock in enumerate(sockets):
            proc = spawn(app_argv("", 0, 1, uds=sock), work / f"app-{i}.log", env, True)
            stack.callback(stop, proc)
        for sock in sockets:
            wait_until(http_ready("http://app", uds=str(sock)), f"app worker {sock}", 60)
        stack.callback(stop, spawn(nginx_argv(conf), work / "nginx.log", new_session=True))
        stack.callback(stop, spawn([*CLI, "consume"], work / "consumer.log", env))
        url = f"http://127.0.0.1:{port}"
        wait_until(http_ready(url), "the gateway", 30)
        yield Sale(url, env, Settings.model_validate({**redis, **settings}), work)


async def redis_truth(sale: Sale, event_id: str) -> tuple[dict[str, int], int]:
    redis = client.connect(sale.settings, 5.0)
    try:
        found, stock = await EventStore(redis, Scripts.from_package()).winners(event_id)
    finally:
        await redis.aclose()
    return {user: slot for user, (slot, _) in found.items()}, stock or 0


def reconcile(sale: Sale, event_id: str, run: Run) -> dict[str, Any]:
    told = sale.work / f"told-{event_id}.json"
    told.write_text(json.dumps(run.told()))
    done = sale.cli("reconcile", event_id, "--json", "--told", str(told))
    report: dict[str, Any] = json.loads(done.stdout)
    assert (done.returncode == 0) == report["ok"], done.stderr
    return report


async def assert_sale_held(sale: Sale, db: Any, event_id: str, total: int, run: Run) -> None:
    """No 500 and no hang; DESIGN §1 in Redis; the database holds exactly the winners
    with the slots and codes told; reconcile (with every told win) finds nothing."""
    assert all(a.status in (200, 201, 410, 503) for a in run.answers), run.statuses()
    assert set(run.statuses()) <= {200, 201, 410, 503}, run.statuses()
    winners, stock = await redis_truth(sale, event_id)
    assert oracle.check(total, run.answers, winners, stock, expect_sold_out=True) == []
    await wait_rows(db, event_id, len(winners), timeout_s=30)
    rows = await db_rows(db, event_id)
    assert {user: slot for user, (slot, _) in rows.items()} == winners
    told = {
        a.user_id: (a.slot, a.coupon_code) for a in run.answers if a.result in oracle.WIN_RESULTS
    }
    assert all(rows[user] == coupon for user, coupon in told.items())
    report = reconcile(sale, event_id, run)
    assert report["ok"], report["breaches"]
