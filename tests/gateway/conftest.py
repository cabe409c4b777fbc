"""Fixtures: real app workers on Unix sockets and real nginx gateways in front of them."""

from __future__ import annotations

import json
import secrets
import signal
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from couponrush.client import Client
from couponrush.settings import Settings
from couponrush.stack import nginx
from couponrush.stack.commands import app_argv, nginx_argv
from couponrush.stack.procs import children, free_port, spawn, stop
from couponrush.stack.ready import http_ready, wait_until
from tests.fixtures.app import app_env
from tests.fixtures.postgres import PgServer


@dataclass
class AppPool:
    sockets: list[str]
    processes: list[subprocess.Popen[bytes]]
    admin_token: str
    redis_url: str
    feed_token: str
    # The workers' environment: the gateway's win lane takes their Redis, coupon secret and
    # per-user bucket from it.
    environ: dict[str, str] = field(default_factory=dict)

    def settings(self, **overrides: Any) -> Settings:
        """The workers' settings, some overridden (for a gateway in front of them)."""
        prefix = "COUPONRUSH_"
        own = {k[len(prefix) :].lower(): v for k, v in self.environ.items() if k.startswith(prefix)}
        given = {"redis_url": self.redis_url, "edge_feed_token": self.feed_token}
        return Settings(**{**given, **own, **overrides})

    def direct(self, index: int = 0) -> httpx.Client:
        """A client straight to one worker, bypassing the gateway (for set-up)."""
        transport = httpx.HTTPTransport(uds=self.sockets[index])
        return httpx.Client(transport=transport, base_url="http://app", timeout=10)

    def sdk(self, index: int = 0) -> Client:
        """The SDK straight to one worker, with the admin token (for set-up)."""
        transport = httpx.HTTPTransport(uds=self.sockets[index])
        return Client("http://app", admin_token=self.admin_token, transport=transport)

    @property
    def admin(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin_token}"}

    def issue_count(self, result: str) -> float:
        """The workers' issue counter of one result (all workers, multiprocess mode)."""
        with self.direct() as direct:
            text = direct.get("/metrics").text
        return sum(
            s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
            if s.name == "couponrush_issue_requests_total" and s.labels.get("result") == result
        )


@dataclass
class Gateway:
    url: str
    conf: Path
    process: subprocess.Popen[bytes]
    settings: Settings = field(repr=False)

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def access_log(self) -> list[dict[str, Any]]:
        """The JSON access log, one dict per request (nginx writes bytes over 0x7f of a
        malformed request as they came: not always UTF-8)."""
        path = self.conf.parent / "access.log"
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        return [json.loads(line) for line in lines]

    def metrics(self) -> dict[tuple[str, str], float]:
        """/gateway/metrics as {(name, first label value or ""): value}."""
        text = httpx.get(f"{self.url}/gateway/metrics", timeout=5).text
        return {
            (s.name, next(iter(s.labels.values()), "")): s.value
            for f in text_string_to_metric_families(text)
            for s in f.samples
        }

    def reload(self) -> None:
        """SIGHUP: new workers with the config, the old ones finish and leave."""
        old = children(self.process.pid)
        self.process.send_signal(signal.SIGHUP)
        wait_until(lambda: not old & children(self.process.pid), "the gateway reload", 30)


def start_pool(redis_url: str, work: Path, count: int, **env: str) -> AppPool:
    token, feed = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    environ = app_env(
        redis_url, token, secrets.token_urlsafe(32), work / "metrics", edge_feed_token=feed, **env
    )
    sockets = [str(work / f"app-{i}.sock") for i in range(count)]
    # A session of its own: a "kill -9 of the worker" takes granian's whole process group.
    processes = [
        spawn(app_argv("", 0, 1, uds=Path(sock)), work / f"app-{i}.log", environ, new_session=True)
        for i, sock in enumerate(sockets)
    ]
    pool = AppPool(sockets, processes, token, redis_url, feed, environ)
    for sock in sockets:
        wait_until(http_ready("http://app", uds=sock), f"app worker {sock}", 60)
    return pool


def stop_pool(pool: AppPool) -> None:
    for proc in pool.processes:
        stop(proc)


@pytest.fixture(scope="module")
def app_pool(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppPool]:
    """Two workers with a small per-user bucket (2/s, burst 3) for the app-layer tests."""
    pool = start_pool(
        redis_url, tmp_path_factory.mktemp("pool"), 2, user_rate_per_s="2", user_burst="3"
    )
    yield pool
    stop_pool(pool)


GatewayFactory = Callable[..., Gateway]


def _serving(gw: Gateway, log: Path) -> bool:
    if gw.process.poll() is not None:
        raise RuntimeError(f"nginx exited: {log.read_text()[-500:]}")
    return httpx.get(f"{gw.url}/gateway/healthz", timeout=1).status_code == 200


@pytest.fixture
def start_gateway(tmp_path: Path) -> Iterator[GatewayFactory]:
    """Start an nginx gateway with some settings overridden, in front of given workers."""
    started: list[Gateway] = []

    def start(pool: AppPool, port: int = 0, **overrides: Any) -> Gateway:
        settings = pool.settings(**overrides)
        port = port or free_port()
        state = tmp_path / f"nginx-{len(started)}"
        addrs = [f"unix:{s}" for s in pool.sockets]
        log = nginx.json_log(state / "access.log", buffered=False)
        conf = nginx.write_config(settings, f"127.0.0.1:{port}", addrs, state, log)
        process = spawn(nginx_argv(conf), state / "stdout.log", new_session=True)
        gw = Gateway(f"http://127.0.0.1:{port}", conf, process, settings)
        started.append(gw)
        wait_until(lambda: _serving(gw, state / "stdout.log"), "nginx gateway", 20)
        return gw

    yield start
    for gw in started:
        stop(gw.process, signal.SIGQUIT)


@pytest.fixture(scope="module")
def db_pool(
    redis_url: str, pg: PgServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppPool]:
    """Workers with a database, so that every route answers from its own logic."""
    pool = start_pool(
        redis_url,
        tmp_path_factory.mktemp("db-pool"),
        2,
        database_url=pg.url,
        user_rate_per_s="2",
        user_burst="3",
    )
    yield pool
    stop_pool(pool)
