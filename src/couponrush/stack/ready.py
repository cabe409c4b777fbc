"""Waiting for readiness: poll a check until it holds, or fail at a deadline."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import httpx
import redis

from couponrush.core.errors import StackError


def wait_until(check: Callable[[], bool], what: str, timeout_s: float = 30.0) -> None:
    """Poll ``check`` until it returns True, or raise StackError at the deadline."""
    deadline = time.monotonic() + timeout_s
    delay = 0.02
    while True:
        try:
            if check():
                return
        except (OSError, httpx.HTTPError, redis.RedisError):
            pass
        if time.monotonic() >= deadline:
            raise StackError(f"{what} was not ready within {timeout_s:.0f} s")
        time.sleep(delay)
        delay = min(delay * 2, 0.25)


def redis_ready(url: str) -> Callable[[], bool]:
    def check() -> bool:
        client = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()

    return check


def http_ready(url: str, uds: str | None = None, path: str = "/readyz") -> Callable[[], bool]:
    """``url``'s ``path`` answers 200 (reached through the Unix socket ``uds`` if given)."""

    def check() -> bool:
        if uds is not None:
            # Probe the socket first: a refused Unix-socket connect inside httpx leaks it.
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.settimeout(1.0)
                probe.connect(uds)
        with httpx.Client(transport=httpx.HTTPTransport(uds=uds), timeout=1.0) as client:
            return client.get(f"{url}{path}").status_code == 200

    return check


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.create_connection((host, port), timeout=0.5):
        return True
