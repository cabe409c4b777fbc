"""Fixtures: a real Redis and real app workers on free loopback ports, state in tmp dirs."""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from redis.asyncio import Redis

from couponrush import procs
from couponrush.scripts import Scripts, register


@dataclass(frozen=True)
class AppServer:
    url: str
    admin_token: str
    coupon_secret: str
    redis_url: str

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("redis")
    port = procs.free_port()
    log = (data / "redis.log").open("wb")
    proc = subprocess.Popen(procs.redis_argv(port, data), stdout=log, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        procs.wait_until(procs.redis_ready(url), "test Redis", 20)
        yield url
    finally:
        _stop(proc)
        log.close()


@pytest_asyncio.fixture(loop_scope="session")
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


@pytest_asyncio.fixture(loop_scope="session")
async def scripts(redis: Redis) -> Scripts:
    loaded = Scripts.from_package()
    await register(redis, loaded)
    return loaded


def app_env(redis_url: str, token: str, secret: str, metrics_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUPONRUSH_")}
    env.update(
        COUPONRUSH_REDIS_URL=redis_url,
        COUPONRUSH_ADMIN_TOKEN=token,
        COUPONRUSH_COUPON_SECRET=secret,
        PROMETHEUS_MULTIPROC_DIR=str(metrics_dir),
    )
    return env


@pytest.fixture(scope="session")
def app_server(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    work = tmp_path_factory.mktemp("app")
    (work / "metrics").mkdir()
    token, secret = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
    port = procs.free_port()
    log = (work / "app.log").open("wb")
    proc = subprocess.Popen(
        procs.app_argv("127.0.0.1", port, 2),
        env=app_env(redis_url, token, secret, work / "metrics"),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = AppServer(f"http://127.0.0.1:{port}", token, secret, redis_url)
    try:
        procs.wait_until(procs.http_ready(server.url), "test app workers", 60)
        yield server
    finally:
        _stop(proc)
        log.close()


@pytest.fixture
def http(app_server: AppServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=app_server.url, timeout=10) as client:
        yield client


@pytest.fixture
def event_id(request: pytest.FixtureRequest) -> str:
    """A fresh event id per test, readable in Redis when a test fails."""
    name = request.node.name.replace("[", "-").replace("]", "").replace("_", "-")[:40]
    return f"t-{name}-{secrets.token_hex(3)}"
