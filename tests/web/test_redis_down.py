"""Redis silent or gone: every route answers 503 + Retry-After in time, never a 500."""

from __future__ import annotations

import secrets
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures.app import app_env, running_app
from tests.fixtures.postgres import PgServer


@pytest.fixture
def silent_redis() -> Iterator[int]:
    """A peer that accepts connections and never answers: a hung Redis."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    listener.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join(timeout=5)
    for sock in held:
        sock.close()
    listener.close()


@pytest.fixture
def app_without_redis(silent_redis: int, tmp_path: Path) -> Iterator[str]:
    env = app_env(
        f"redis://127.0.0.1:{silent_redis}/0",
        secrets.token_urlsafe(24),
        secrets.token_urlsafe(32),
        tmp_path / "metrics",
        redis_timeout_ms="300",
    )
    with running_app(env, tmp_path, workers=1, ready_path="/healthz") as url:
        yield url


def test_every_route_sheds_with_503_and_retry_after(app_without_redis: str) -> None:
    with httpx.Client(base_url=app_without_redis, timeout=10) as http:
        for method, path, body in (
            ("POST", "/v1/events/e1/issue", {"user_id": "u1"}),
            ("GET", "/v1/events/e1", None),
            ("GET", "/v1/events/e1/issuances/u1", None),
            ("GET", "/readyz", None),
        ):
            started = time.monotonic()
            response = http.request(method, path, json=body)
            assert response.status_code == 503, (path, response.text)
            assert response.headers["retry-after"] == "1"
            assert response.json()["result"] == "unavailable"
            assert time.monotonic() - started < 3  # the deadline, not a hang
        assert http.get("/healthz").status_code == 200  # alive, just not ready


async def test_a_create_redis_cannot_take_writes_nothing(
    silent_redis: int, pg: PgServer, db: Any, tmp_path: Path, event_id: str
) -> None:
    """503 only when nothing was written: the coupons row written first is taken back."""
    token = secrets.token_urlsafe(24)
    env = app_env(
        f"redis://127.0.0.1:{silent_redis}/0",
        token,
        secrets.token_urlsafe(32),
        tmp_path / "metrics",
        redis_timeout_ms="300",
        database_url=pg.url,
    )
    body = {"event_id": event_id, "name": "Never", "total_stock": 3}
    auth = {"Authorization": f"Bearer {token}"}
    with running_app(env, tmp_path, workers=1, ready_path="/healthz") as url:
        async with httpx.AsyncClient(timeout=10, headers=auth) as http:
            answer = await http.post(f"{url}/v1/events", json=body)
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "1"
    assert "Error" not in answer.json()["detail"]  # no library's class name
    assert await db.fetchval("SELECT count(*) FROM coupons WHERE id = $1", event_id) == 0
