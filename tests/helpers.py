"""Helpers shared by the tests: events over HTTP, what Redis and the database hold, the
command line, polling, and a local stack of a test's own."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import httpx
from redis.asyncio import Redis

from couponrush.client import Client
from couponrush.core.letters import DeadLetter
from couponrush.core.ports import Batcher
from couponrush.stack.procs import free_port
from couponrush.store.dead_letters import DeadLetters
from couponrush.store.keys import decode_participant, event_keys
from couponrush.web.schemas import EventResponse

CLI = [sys.executable, "-m", "couponrush"]


class Serving(Protocol):
    """App workers a test can reach with the SDK (AppServer, AppPool)."""

    def sdk(self) -> Client: ...


def create_event(app: Serving, event_id: str, stock: int, **extra: Any) -> EventResponse:
    """The one way tests and benchmarks set up an event over HTTP: the SDK's."""
    with app.sdk() as sdk:
        return sdk.create_event(event_id, stock, **{"name": f"Event {event_id}", **extra})


async def redis_truth(redis: Redis, event_id: str) -> tuple[dict[str, int], int]:
    """Winners (user -> slot) and the stock counter, read at one moment."""
    keys = event_keys(event_id)
    async with redis.pipeline(transaction=True) as pipe:
        pipe.hgetall(keys.participants)
        pipe.get(keys.stock)
        raw, stock = await pipe.execute()
    return {u: decode_participant(v)[0] for u, v in raw.items()}, int(stock or 0)


def run_cli(
    args: list[str], env: dict[str, str], check: bool = False, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*CLI, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(f"{args} exited {done.returncode}: {done.stderr}")
    return done


def stack_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """A command against a local stack (``up`` may take a while)."""
    return run_cli(list(args), env, timeout=120)


async def poll(check: Callable[[], Awaitable[bool]], what: str, timeout_s: float) -> None:
    """Await ``check`` until true, or fail at the deadline."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout_s:.0f} s")
        await asyncio.sleep(0.05)


def pipeline_retries(port: int, stage: str = "") -> float:
    """The retries a pipeline process counted (of one ``stage``, or all), from its /metrics."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    prefix = "couponrush_pipeline_retries_total" + (f'{{stage="{stage}"}}' if stage else "")
    lines = [line for line in text.splitlines() if line.startswith(prefix)]
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines)


async def db_rows(db: Any, event_id: str) -> dict[str, tuple[int, str]]:
    rows = await db.fetch(
        "SELECT user_id, slot, coupon_code FROM coupon_issuances WHERE event_id = $1", event_id
    )
    return {r["user_id"]: (r["slot"], r["coupon_code"]) for r in rows}


async def row_count(db: Any, event_id: str) -> int:
    sql = "SELECT count(*) FROM coupon_issuances WHERE event_id = $1"
    return int(await db.fetchval(sql, event_id))


async def wait_rows(db: Any, event_id: str, n: int, timeout_s: float = 30) -> None:
    async def enough() -> bool:
        return await row_count(db, event_id) >= n

    await poll(enough, f"{n} rows of {event_id}", timeout_s)


async def dead_letters(redis: Redis, event_id: str) -> list[DeadLetter]:
    return [d for d in await DeadLetters(redis).list(10_000) if d.event_id == event_id]


@contextmanager
def local_stack_env(workers: int, prometheus: bool = False) -> Iterator[dict[str, str]]:
    """The environment of a whole local stack of its own (free gateway port, own state
    folder); whatever a test started in it is stopped afterwards. PostgreSQL runs as its
    own account when we are root, so the folder must be reachable by it (pytest's tmp
    root is owner-only). ``prometheus``: with Prometheus and the exporters (the tests of
    observability want them; the others start faster without)."""
    folder = Path(tempfile.mkdtemp(prefix="couponrush-stack-"))
    folder.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUPONRUSH_")}
    env.update(
        COUPONRUSH_VAR_DIR=str(folder / "var"),
        COUPONRUSH_GATEWAY_PORT=str(free_port()),
        COUPONRUSH_WORKERS=str(workers),
        COUPONRUSH_STACK_PROMETHEUS=str(prometheus).lower(),
    )
    try:
        yield env
    finally:
        subprocess.run([*CLI, "down"], env=env, capture_output=True, timeout=60, check=False)
        shutil.rmtree(folder, ignore_errors=True)


async def issue_via(batcher: Batcher, event_id: str, user_id: str, request_id: str = "r") -> Any:
    """One call through the batcher: this call's slice of its group's reply."""
    future, place = batcher.call(event_id, user_id, request_id)
    return (await future)[place]
