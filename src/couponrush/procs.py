"""Command lines of the processes couponrush runs, and readiness polling.

Shared by the local stack (under supervisord) and the test fixtures, so both run
exactly the same Redis and app server.
"""

from __future__ import annotations

import shutil
import socket
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import redis

from couponrush.errors import StackError


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def children(pid: int) -> set[int]:
    """The child processes of ``pid`` (Linux), empty when it is gone."""
    try:
        return {int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()}
    except OSError:
        return set()


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
        return True


def binary(name: str, hint: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise StackError(f"{name} is not installed; {hint}")
    return path


def redis_argv(port: int, data_dir: Path, appendfsync: str = "everysec") -> list[str]:
    """A loopback-only Redis with AOF on, no snapshots, and no eviction ever."""
    server = binary("redis-server", "run 'make install' (Debian package redis-server)")
    return [
        server, "--port", str(port), "--bind", "127.0.0.1", "--protected-mode", "yes",
        "--dir", str(data_dir), "--appendonly", "yes", "--appendfsync", appendfsync,
        "--save", "", "--maxmemory-policy", "noeviction", "--daemonize", "no",
        "--tcp-backlog", "4096", "--loglevel", "warning",
    ]  # fmt: skip


def app_argv(host: str, port: int, workers: int, uds: Path | None = None) -> list[str]:
    """granian serving the ASGI factory; settings reach it through the environment.

    With ``uds`` it listens on a Unix socket (owner-only) instead of host:port: behind the
    gateway that saves the loopback TCP stack on every request, about a fifth of the CPU.
    """
    granian = str(Path(sys.executable).with_name("granian"))
    where = ["--uds", str(uds), "--uds-permissions", "384"] if uds else [
        "--host", host, "--port", str(port)]  # fmt: skip
    return [
        granian, "--interface", "asgi", "--factory", "couponrush.asgi:app", *where,
        "--workers", str(workers), "--loop", "uvloop", "--http", "1", "--no-ws",
        "--backlog", "4096", "--log-level", "warning", "--workers-kill-timeout", "10",
    ]  # fmt: skip


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


def http_ready(url: str, uds: str | None = None) -> Callable[[], bool]:
    """``url``'s /readyz answers 200 (reached through the Unix socket ``uds`` if given)."""

    def check() -> bool:
        if uds is not None:
            # Probe the socket first: a refused Unix-socket connect inside httpx leaks it.
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.settimeout(1.0)
                probe.connect(uds)
        with httpx.Client(transport=httpx.HTTPTransport(uds=uds), timeout=1.0) as client:
            return client.get(f"{url}/readyz").status_code == 200

    return check
