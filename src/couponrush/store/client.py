"""Redis clients built from the settings, and the translation of Redis's errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from couponrush.core.errors import StoreUnavailable
from couponrush.settings import Settings

# Redis is away, restarting or too slow: trying again later can help.
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError)


def connect(settings: Settings, timeout_s: float | None, pool_size: int | None = None) -> Redis:
    """A client of the configured Redis. ``timeout_s`` bounds each reply (None: unbounded,
    for the batcher, whose deadline covers a whole pipeline: a timer per reply would cost
    one per request on the hottest path)."""
    connect_s = settings.redis_timeout_ms / 1000 if timeout_s is None else timeout_s
    return Redis.from_url(
        settings.redis_url,
        decode_responses=True,
        socket_timeout=timeout_s,
        socket_connect_timeout=connect_s,
        max_connections=pool_size,
        health_check_interval=30,
    )


@contextmanager
def translated() -> Iterator[None]:
    """Redis unreachable -> StoreUnavailable; anything else is left as it is."""
    try:
        yield
    except UNREACHABLE as exc:
        raise StoreUnavailable(f"Redis: {type(exc).__name__}: {exc}") from exc
