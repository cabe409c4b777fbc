"""The clients and use cases of one app worker, built from settings in the lifespan."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from couponrush.batcher import ScriptBatcher
from couponrush.codes import CodeSigner
from couponrush.db import repo
from couponrush.events import EventStore
from couponrush.http_issue import IssueEndpoint
from couponrush.issuer import Issuer
from couponrush.metrics import Metrics
from couponrush.scripts import Scripts, register
from couponrush.settings import Settings
from couponrush.soldout import SoldOutCache

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class Services:
    settings: Settings
    redis: Redis
    events: EventStore
    signer: CodeSigner
    metrics: Metrics
    issue: IssueEndpoint

    hot_redis: Redis | None = None
    # asyncpg pool for event creation only; the issue path never touches the database.
    db: repo.Pool | None = None

    async def aclose(self) -> None:
        await self.redis.aclose()
        if self.hot_redis is not None:
            await self.hot_redis.aclose()
        if self.db is not None:
            await self.db.close()


def database_configured(settings: Settings) -> bool:
    """Whether COUPONRUSH_DATABASE_URL was given. Without it the app runs Redis-only and the
    consumer creates an event's coupons row from its Redis meta on the first win."""
    return "database_url" in settings.model_fields_set


def redis_client(settings: Settings, read_timeout: bool = True) -> Redis:
    """``read_timeout=False`` for the batcher, whose deadline covers a whole pipeline:
    a timeout per reply would cost a timer per request on the hottest path."""
    timeout = settings.redis_timeout_ms / 1000
    return Redis.from_url(
        settings.redis_url,
        decode_responses=True,
        socket_timeout=timeout if read_timeout else None,
        socket_connect_timeout=timeout,
        max_connections=settings.redis_pool_size,
        health_check_interval=30,
    )


async def build(settings: Settings, metrics: Metrics) -> Services:
    redis = redis_client(settings)
    scripts = Scripts.from_package()
    try:
        await register(redis, scripts)
    except (RedisError, OSError) as exc:
        # Serve anyway: readyz says not ready, and NOSCRIPT handling loads them later.
        log.warning("redis_unreachable_at_start", error=repr(exc))
    timeout = settings.redis_timeout_ms / 1000
    hot = redis_client(settings, read_timeout=False)
    batcher = ScriptBatcher(hot, scripts, scripts.issue, timeout, settings.batch_max)
    issuer = Issuer(
        batcher, SoldOutCache(redis, timeout),
        settings.user_rate_per_s, settings.user_burst, settings.max_in_flight,
    )  # fmt: skip
    signer = CodeSigner(settings.coupon_secret.get_secret_value().encode())
    endpoint = IssueEndpoint(
        issuer, signer, metrics, settings.max_body_bytes, settings.retry_after_s
    )
    db = await repo.create_pool(settings.database_url) if database_configured(settings) else None
    events = EventStore(redis, scripts, db)
    return Services(settings, redis, events, signer, metrics, endpoint, hot_redis=hot, db=db)
