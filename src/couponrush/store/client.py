"""Redis clients built from the settings, in each mode, and the translation of Redis's errors.

The one place that tells standalone, Sentinel and Cluster apart when connecting:
``COUPONRUSH_REDIS_MODE`` picks the client, ``COUPONRUSH_REDIS_URL`` says where it is.

- standalone: ``redis://host:port/0``
- sentinel: ``redis+sentinel://[:password@]host:port,host:port/master-name`` (the sentinels;
  the password, if any, is the data nodes')
- cluster: seed nodes, comma-separated: ``redis://host:port,redis://host:port`` (or
  ``host:port,host:port``); the client learns the slot map from any of them

Credentials: ``COUPONRUSH_REDIS_USERNAME``/``PASSWORD`` (an ACL user of deploy/redis/users.acl),
or in the URL (``redis://user:password@host:port``), not both.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeAlias
from urllib.parse import unquote

from redis.asyncio import Redis
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.connection import parse_url
from redis.exceptions import (
    AskError,
    BusyLoadingError,
    ClusterDownError,
    ClusterError,
    MasterDownError,
    MovedError,
    ReadOnlyError,
    RedisClusterException,
    ResponseError,
    TryAgainError,
)
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from couponrush.core.errors import ConfigError, StoreUnavailable
from couponrush.settings import Settings

RedisClient: TypeAlias = Redis | RedisCluster

# Redis is away, restarting or too slow: trying again later can help. RedisClusterException
# is not a RedisError; it covers a slot map with a hole (SlotNotCoveredError) and a
# cluster none of whose seed nodes answers.
UNREACHABLE = (RedisConnectionError, RedisTimeoutError, OSError, TimeoutError,
               RedisClusterException, ClusterError)  # fmt: skip
# Replies of a failover or a slot on the move: the command did not run, or ran on a
# primary that is about to step down. (-NOREPLICAS has no class of its own.)
FAILOVER_REPLIES = (MovedError, AskError, TryAgainError, ClusterDownError, ReadOnlyError,
                    MasterDownError, BusyLoadingError)  # fmt: skip
_FAILOVER_PREFIXES = ("NOREPLICAS", "MASTERDOWN", "LOADING", "CLUSTERDOWN", "READONLY")
# redis-py's pipelines put the failing command in front of the server's reply:
# "Command # 1 (XACK …) of pipeline caused error: ('NOREPLICAS …',)".
_IN_PIPELINE = re.compile(r"^Command # \d+ \(.*?\) of pipeline caused error: \(?'?")


def server_reply(exc: BaseException) -> str:
    """The server's error reply in ``exc``, without what a pipeline put in front of it."""
    return _IN_PIPELINE.sub("", str(exc), count=1)


def unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means "Redis cannot take this now" (503) rather than a bug."""
    if isinstance(exc, (*UNREACHABLE, *FAILOVER_REPLIES)):
        return True
    return isinstance(exc, ResponseError) and server_reply(exc).startswith(_FAILOVER_PREFIXES)


@contextmanager
def translated() -> Iterator[None]:
    """Redis unreachable or failing over -> StoreUnavailable; anything else as it is."""
    try:
        yield
    except Exception as exc:
        if unavailable(exc):
            raise StoreUnavailable(f"Redis: {type(exc).__name__}: {exc}") from exc
        raise


def connect(
    settings: Settings, timeout_s: float | None, pool_size: int | None = None
) -> RedisClient:
    """A client of the configured Redis. ``timeout_s`` bounds each reply (None: unbounded,
    for the batcher, whose deadline covers a whole pipeline: a timer per reply would cost
    one per request on the hottest path)."""
    connect_s = settings.redis_timeout_ms / 1000 if timeout_s is None else timeout_s
    common: dict[str, Any] = {
        "decode_responses": True,
        "socket_timeout": timeout_s,
        "socket_connect_timeout": connect_s,
        "health_check_interval": 30,
    }
    url = settings.redis_url
    common |= credentials(settings)
    if settings.redis_mode == "cluster":
        return _cluster(url, common, pool_size)
    if settings.redis_mode == "sentinel":
        return _sentinel(url, common, pool_size)
    return Redis.from_url(url, max_connections=pool_size, **common)


def credentials(settings: Settings) -> dict[str, str]:
    """The settings' ACL user and password, where set; a URL then carries none (redis-py
    would quietly prefer the URL's)."""
    found = {
        "username": settings.redis_username,
        "password": settings.redis_password.get_secret_value(),
    }
    found = {name: value for name, value in found.items() if value}
    if found and "@" in settings.redis_url:
        raise ConfigError(
            "give Redis credentials in COUPONRUSH_REDIS_USERNAME/PASSWORD or "
            "in COUPONRUSH_REDIS_URL, not both"
        )
    return found


def cluster_seeds(url: str) -> list[tuple[str, int]]:
    return [_host_port(part) for part in _parts(url)]


def _parts(url: str) -> list[str]:
    parts = [p.strip() for p in url.split(",") if p.strip()]
    if not parts:
        raise ConfigError("COUPONRUSH_REDIS_URL names no Redis node")
    return parts


def _host_port(part: str) -> tuple[str, int]:
    if "://" in part:
        found = parse_url(part)  # type: ignore[no-untyped-call]
        return str(found.get("host", "127.0.0.1")), int(found.get("port", 6379))
    host, _, port = part.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"not a host:port: {part!r}")
    return host, int(port)


def _cluster(url: str, common: dict[str, Any], pool_size: int | None) -> RedisCluster:
    first = _parts(url)[0]
    found = parse_url(first) if "://" in first else {}  # type: ignore[no-untyped-call]
    auth = {k: v for k, v in found.items() if k in ("username", "password")}
    seeds = [ClusterNode(host, port) for host, port in cluster_seeds(url)]
    # Partial coverage is normal during a failover: the other shards go on serving.
    return RedisCluster(
        startup_nodes=seeds,
        require_full_coverage=False,
        max_connections=pool_size or 100,
        **auth,
        **common,
    )


def sentinel_target(url: str) -> tuple[list[tuple[str, int]], str, str | None]:
    """(sentinels, master name, data nodes' password) of a ``redis+sentinel://`` URL."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme != "redis+sentinel":
        raise ConfigError("sentinel mode needs COUPONRUSH_REDIS_URL=redis+sentinel://h:p,h:p/name")
    hosts, _, name = rest.partition("/")
    password = None
    if "@" in hosts:
        userinfo, _, hosts = hosts.rpartition("@")
        password = unquote(userinfo.partition(":")[2]) or None
    name = name.split("?")[0].strip("/")
    if not name:
        raise ConfigError("the sentinel URL must end with /<master name>")
    return [_host_port(h) for h in _parts(hosts)], name, password


class SentinelRedis(Redis):
    """The primary a set of sentinels names; closing it closes the sentinel clients too."""

    async def aclose(self, close_connection_pool: bool | None = None) -> None:
        await super().aclose(close_connection_pool)
        pool = self.connection_pool
        if isinstance(pool, SentinelConnectionPool):
            await pool.sentinel_manager.aclose()


def _sentinel(url: str, common: dict[str, Any], pool_size: int | None) -> Redis:
    sentinels, name, password = sentinel_target(url)
    # Asking the sentinels is always bounded, also for the batcher's client.
    ask_s = common["socket_connect_timeout"]
    asking = {"socket_timeout": ask_s, "socket_connect_timeout": ask_s}
    manager = Sentinel(sentinels, sentinel_kwargs=asking)  # type: ignore[no-untyped-call]
    common.setdefault("password", password)
    primary: Redis = manager.master_for(
        name, redis_class=SentinelRedis, max_connections=pool_size, **common
    )
    return primary
