"""Redis silent or gone: every route answers 503 + Retry-After in time, never a 500."""

from __future__ import annotations

import secrets
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from couponrush import procs

from ..conftest import app_env


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
    (tmp_path / "metrics").mkdir()
    env = app_env(f"redis://127.0.0.1:{silent_redis}/0", secrets.token_urlsafe(24),
                  secrets.token_urlsafe(32), tmp_path / "metrics")  # fmt: skip
    env["COUPONRUSH_REDIS_TIMEOUT_MS"] = "300"
    port = procs.free_port()
    with (tmp_path / "app.log").open("wb") as log:
        proc = subprocess.Popen(procs.app_argv("127.0.0.1", port, 1), env=env, stdout=log,
                                stderr=subprocess.STDOUT)  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        procs.wait_until(lambda: httpx.get(f"{url}/healthz", timeout=1).status_code == 200,
                         "app without Redis", 60)  # fmt: skip
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)


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
