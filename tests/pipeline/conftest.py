"""Fixtures of the pipeline tests: a real PostgreSQL, a Kafka-protocol broker, an app
server with a database, and consumer/relay processes the tests can kill."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg  # type: ignore[import-untyped]
import pytest
import pytest_asyncio

from couponrush import procs
from couponrush.db import localpg
from couponrush.pipeline.kafka import tansu_argv
from tests.conftest import AppServer, app_env
from tests.pipeline.helpers import PgServer, Pipeline, port_open, run_cli


@pytest.fixture(scope="session")
def pg() -> Iterator[PgServer]:
    # Not under pytest's tmp root: that is root-only (0700) and PostgreSQL runs as 'postgres'.
    root = Path(tempfile.mkdtemp(prefix="couponrush-pg-"))
    root.chmod(0o755)
    server = PgServer(root / "data", root / "sock", procs.free_port(), root / "pg.log")
    localpg.initdb(server.data_dir, fast=True)
    try:
        server.start()
        localpg.ensure_database(server.url)
        env = {**os.environ, "COUPONRUSH_DATABASE_URL": server.url}
        run_cli(["db", "upgrade"], env, check=True)
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """KAFKA_BOOTSTRAP points the tests at a real Kafka; else a memory-only tansu."""
    if os.environ.get("KAFKA_BOOTSTRAP"):
        yield os.environ["KAFKA_BOOTSTRAP"]
        return
    port = procs.free_port()
    log = (tmp_path_factory.mktemp("tansu") / "tansu.log").open("wb")
    proc = subprocess.Popen(tansu_argv(port), stdout=log, stderr=subprocess.STDOUT)
    try:
        procs.wait_until(lambda: port_open(port), "test Kafka broker", 20)
        yield f"127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


@pytest.fixture(scope="session")
def secrets_pair() -> tuple[str, str]:
    return secrets.token_urlsafe(24), secrets.token_urlsafe(32)


@pytest.fixture(scope="session")
def db_app(
    redis_url: str, pg: PgServer, secrets_pair: tuple[str, str],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[AppServer]:  # fmt: skip
    """App workers whose event creation writes the coupons row."""
    work = tmp_path_factory.mktemp("dbapp")
    (work / "metrics").mkdir()
    token, secret = secrets_pair
    env = app_env(redis_url, token, secret, work / "metrics")
    env["COUPONRUSH_DATABASE_URL"] = pg.url
    port = procs.free_port()
    log = (work / "app.log").open("wb")
    proc = subprocess.Popen(procs.app_argv("127.0.0.1", port, 2), env=env, stdout=log,
                            stderr=subprocess.STDOUT)  # fmt: skip
    server = AppServer(f"http://127.0.0.1:{port}", token, secret, redis_url)
    try:
        procs.wait_until(procs.http_ready(server.url), "app workers with a database", 60)
        yield server
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=15)
        log.close()


@pytest_asyncio.fixture(loop_scope="session")
async def db(pg: PgServer) -> AsyncIterator[Any]:
    pool = await asyncpg.create_pool(pg.url, min_size=0, max_size=4)
    yield pool
    await pool.close()


@pytest.fixture
def pipeline(
    redis_url: str, pg: PgServer, secrets_pair: tuple[str, str], tmp_path: Path,
    request: pytest.FixtureRequest,
) -> Iterator[Pipeline]:  # fmt: skip
    """Consumer and relay processes; the test picks the mode (the broker starts on first
    use of Kafka mode). Stopped at the end."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUPONRUSH_")}
    env.update(
        COUPONRUSH_REDIS_URL=redis_url, COUPONRUSH_DATABASE_URL=pg.url,
        COUPONRUSH_COUPON_SECRET=secrets_pair[1], COUPONRUSH_RECLAIM_IDLE_MS="1000",
        COUPONRUSH_RETRY_CAP_S="1", COUPONRUSH_CONSUMER_BLOCK_MS="50",
        COUPONRUSH_LOG_LEVEL="warning",
    )  # fmt: skip
    runner = Pipeline(env, tmp_path, lambda: request.getfixturevalue("kafka_bootstrap"))
    try:
        yield runner
    finally:
        runner.stop_all()
