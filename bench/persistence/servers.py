"""Redis, PostgreSQL and the test broker of the benchmark, each on a free loopback port."""

from __future__ import annotations

import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from couponrush import procs
from couponrush.db import localpg, migrate
from couponrush.pipeline.kafka import tansu_argv


@dataclass(frozen=True)
class Servers:
    redis_url: str
    database_url: str
    kafka_bootstrap: str
    work: Path


def _spawn(stack: ExitStack, argv: list[str], log: Path) -> None:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)

    def stop() -> None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)

    stack.callback(stop)


@contextmanager
def servers() -> Iterator[Servers]:
    work = Path(tempfile.mkdtemp(prefix="couponrush-bench-"))
    work.chmod(0o755)  # PostgreSQL runs as another user and must reach its folders
    try:
        with ExitStack() as stack:
            redis_port, pg_port, kafka_port = (procs.free_port() for _ in range(3))
            (work / "redis").mkdir()
            redis_argv = procs.redis_argv(redis_port, work / "redis", appendfsync="no")
            _spawn(stack, redis_argv, work / "redis.log")
            localpg.initdb(work / "pg", fast=True)
            _spawn(stack, localpg.postgres_argv(pg_port, work / "pg", work / "sock", fast=True),
                   work / "pg.log")  # fmt: skip
            _spawn(stack, tansu_argv(kafka_port), work / "tansu.log")
            redis_url = f"redis://127.0.0.1:{redis_port}/0"
            db_url = localpg.database_url(pg_port)
            procs.wait_until(procs.redis_ready(redis_url), "bench Redis", 20)
            procs.wait_until(localpg.pg_ready(db_url), "bench PostgreSQL", 30)
            localpg.ensure_database(db_url)
            migrate.upgrade(db_url)
            yield Servers(redis_url, db_url, f"127.0.0.1:{kafka_port}", work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
