"""Process handles and polling helpers of the pipeline tests."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from redis.asyncio import Redis

from couponrush import procs
from couponrush.db import localpg
from couponrush.keys import decode_participant, event_keys
from couponrush.pipeline.dlq import DeadLetter, DeadLetters

CLI = [sys.executable, "-m", "couponrush.cli_pipeline"]


def port_open(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True


def run_cli(args: list[str], env: dict[str, str], check: bool = False,
            timeout: float = 60) -> subprocess.CompletedProcess[str]:  # fmt: skip
    done = subprocess.run([*CLI, *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)  # fmt: skip
    if check and done.returncode != 0:
        raise AssertionError(f"{args} exited {done.returncode}: {done.stderr}")
    return done


@dataclass
class PgServer:
    data_dir: Path
    socket_dir: Path
    port: int
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return localpg.database_url(self.port)

    def start(self) -> None:
        argv = localpg.postgres_argv(self.port, self.data_dir, self.socket_dir, fast=True)
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        procs.wait_until(localpg.pg_ready(self.url), "test PostgreSQL", 30)

    def stop(self) -> None:
        """Fast shutdown (SIGINT): sessions are cut, as in an outage."""
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self.proc = None


@dataclass
class Pipeline:
    env: dict[str, str]
    logs: Path
    kafka_bootstrap: Callable[[], str]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def with_env(self, **extra: str) -> dict[str, str]:
        return {**self.env, **extra}

    def start(self, role: str, mode: str = "stream", *args: str) -> subprocess.Popen[bytes]:
        """``role`` is consume or relay; a second start of a role replaces the handle."""
        env = self.with_env(COUPONRUSH_QUEUE=mode)
        if mode == "kafka":
            env["COUPONRUSH_KAFKA_BOOTSTRAP"] = self.kafka_bootstrap()
        log = (self.logs / f"{role}-{len(self.procs)}-{time.monotonic_ns()}.log").open("wb")
        proc = subprocess.Popen([*CLI, role, *args], env=env, stdout=log,
                                stderr=subprocess.STDOUT)  # fmt: skip
        log.close()
        self.procs[role] = proc
        return proc

    def start_mode(self, mode: str) -> None:
        self.start("consume", mode)
        if mode == "kafka":
            self.start("relay", mode)

    def kill(self, role: str) -> None:
        proc = self.procs.pop(role)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def alive(self) -> bool:
        return all(p.poll() is None for p in self.procs.values())

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        self.procs.clear()

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(list(args), self.env)


async def poll(check: Callable[[], Awaitable[bool]], what: str, timeout_s: float) -> None:
    """Await ``check`` until true, or fail at the deadline."""
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what}: not within {timeout_s:.0f} s")
        await asyncio.sleep(0.05)


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


async def redis_state(redis: Redis, event_id: str) -> tuple[dict[str, int], int]:
    """Winners (user -> slot) and the stock counter."""
    keys = event_keys(event_id)
    raw: Any = await redis.hgetall(keys.participants)
    stock = await redis.get(keys.stock)
    return {u: decode_participant(v)[0] for u, v in raw.items()}, int(stock or 0)


async def dead_letters(redis: Redis, event_id: str) -> list[DeadLetter]:
    return [d for d in await DeadLetters(redis).list(10_000) if d.event_id == event_id]
