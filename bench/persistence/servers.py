"""Redis, PostgreSQL and an Apache Kafka broker (KRaft, as the stack runs it) for the
benchmark, each on a free loopback port."""

from __future__ import annotations

import shutil
import signal
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from couponrush.db import migrate
from couponrush.stack import kafka, kafka_cluster, kafka_dist, postgres
from couponrush.stack.commands import redis_argv
from couponrush.stack.procs import free_port, spawn, stop
from couponrush.stack.ready import redis_ready, wait_until


@dataclass(frozen=True)
class Servers:
    redis_url: str
    database_url: str
    kafka_bootstrap: str
    work: Path


def _spawn(stack: ExitStack, argv: list[str], log: Path) -> None:
    # SIGINT: PostgreSQL's fast shutdown; Redis and the broker stop on it too.
    stack.callback(stop, spawn(argv, log), signal.SIGINT, 20)


def _kafka(stack: ExitStack, folder: Path) -> str:
    """One broker, its storage formatted; its bootstrap address."""
    node = kafka.cluster(folder, *kafka.new_ports(1))
    libs = kafka_dist.fetch()
    kafka_cluster.prepare(folder, node, libs)
    _spawn(stack, kafka.broker_argv(node[0], libs), folder / "broker.log")
    return kafka.bootstrap(node)


@contextmanager
def servers() -> Iterator[Servers]:
    work = Path(tempfile.mkdtemp(prefix="couponrush-bench-"))
    work.chmod(0o755)  # PostgreSQL runs as another user and must reach its folders
    try:
        with ExitStack() as stack:
            redis_port, pg_port = free_port(), free_port()
            (work / "redis").mkdir()
            _spawn(
                stack, redis_argv(redis_port, work / "redis", appendfsync="no"), work / "redis.log"
            )
            postgres.initdb(work / "pg", fast=True)
            _spawn(
                stack,
                postgres.postgres_argv(pg_port, work / "pg", work / "sock", fast=True),
                work / "pg.log",
            )
            brokers = _kafka(stack, work / "kafka")
            redis_url = f"redis://127.0.0.1:{redis_port}/0"
            db_url = postgres.database_url(pg_port)
            wait_until(redis_ready(redis_url), "bench Redis", 20)
            wait_until(postgres.pg_ready(db_url), "bench PostgreSQL", 30)
            postgres.ensure_database(db_url)
            migrate.upgrade(db_url)
            wait_until(kafka_cluster.brokers_ready(brokers, 1), "bench Kafka broker", 90)
            yield Servers(redis_url, db_url, brokers, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
