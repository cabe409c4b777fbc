"""The clients and use cases of one app worker, built from settings by the entry point.

Built synchronously (no connection is made yet), so the ASGI app can be handed the issue
endpoint directly; ``start`` and ``aclose`` run in the lifespan.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import structlog

from couponrush.core.codes import CodeSigner
from couponrush.core.errors import RetryableError
from couponrush.db.access import AuditRecord
from couponrush.db.repository import Repository
from couponrush.settings import Settings
from couponrush.store import client
from couponrush.store.batcher import IssueBatcher
from couponrush.store.client import RedisClient
from couponrush.store.events import EventStore
from couponrush.store.frozen import Fence, FrozenStore
from couponrush.store.lifecycle import Lifecycle
from couponrush.store.nodes import Topology, replica_wait
from couponrush.store.queue import QueueStore
from couponrush.store.scripts import Scripts, register_everywhere
from couponrush.web.events import EventService
from couponrush.web.identity import Identity
from couponrush.web.issue import IssueEndpoint
from couponrush.web.issuer import Issuer
from couponrush.web.metrics import Metrics
from couponrush.web.request_id import RequestIds
from couponrush.web.season import Season
from couponrush.web.soldout import SoldOutCache

log = structlog.get_logger(__name__)
# Connections of a worker's database pool; an export holds one while it streams.
DB_POOL = 8
# Admin writes (create, amend, close, archive) one worker runs at once: a burst of them
# waits its turn instead of taking every Redis connection of the worker's pool.
ADMIN_AT_ONCE = 4
# Exports one worker streams at once: each holds a database connection while it runs.
EXPORTS_AT_ONCE = 2


@dataclass(slots=True)
class Services:
    settings: Settings
    redis: RedisClient
    hot: Topology
    scripts: Scripts
    events: EventService
    # Sold-out state for the cache and the gateway's feed (web/feed.py).
    frozen: FrozenStore
    signer: CodeSigner
    metrics: Metrics
    issue: IssueEndpoint
    identity: Identity | None
    request_ids: RequestIds
    lifecycle: Lifecycle
    # Shuffled openings' queues (web/queue_routes.py).
    queues: QueueStore
    # Event creation and the season's routes; the issue path never touches the database.
    db: Repository | None = None
    season: Season | None = None
    admin_gate: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(ADMIN_AT_ONCE))
    export_gate: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(EXPORTS_AT_ONCE)
    )

    async def start(self) -> None:
        try:
            # Replicas too: a promoted replica must not answer NOSCRIPT to the first batch.
            await register_everywhere(Topology(self.redis), self.scripts)
            await self.hot.ready()
        except Exception as exc:
            if not client.unavailable(exc):
                raise
            # Serve anyway: readyz says not ready, and NOSCRIPT handling loads them later.
            log.warning("redis_unreachable_at_start", error=repr(exc))
        if database_configured(self.settings):
            self.db = await Repository.connect(
                self.settings.database_url,
                DB_POOL,
                connect_args=self.settings.database_connect_args(),
            )
            self.events = EventService(self.events.store, self.db)
            self.season = Season.over(self.db)

    async def audit(self, record: AuditRecord) -> None:
        """Keep the record of an action done (with a database). Failing to write it never
        undoes the action: the record then goes to the log, whole."""
        if self.season is None:
            return
        try:
            await self.season.audit.add(record)
        except RetryableError:
            p = record.principal
            log.error(
                "audit_write_failed",
                token_id=p.token_id,
                token_name=p.name,
                scope=p.scope,
                action=record.action,
                target=record.target,
                status=record.status,
                result=record.result,
                detail=record.detail,
            )

    async def aclose(self) -> None:
        await self.redis.aclose()
        await self.hot.aclose()
        await self.hot.client.aclose()
        if self.db is not None:
            await self.db.close()


def database_configured(settings: Settings) -> bool:
    """Whether COUPONRUSH_DATABASE_URL was given. Without it the app runs Redis-only and the
    consumer creates an event's coupons row from its Redis meta on the first win."""
    return "database_url" in settings.model_fields_set


def build(settings: Settings, metrics: Metrics) -> Services:
    timeout = settings.redis_timeout_ms / 1000
    redis = client.connect(settings, timeout, settings.redis_pool_size)
    hot = Topology(client.connect(settings, None, settings.redis_pool_size))
    scripts = Scripts.from_package()
    wait = replica_wait(settings)
    batcher = IssueBatcher(
        hot,
        scripts,
        timeout,
        settings.batch_max,
        settings.user_rate_per_s,
        settings.user_burst,
        wait,
        metrics.observe_batch,
    )
    store = EventStore(redis, scripts)
    frozen = FrozenStore(redis, wait)
    soldout = SoldOutCache(frozen, timeout, settings.soldout_lease_ms / 1000)
    issuer = Issuer(batcher, soldout, settings.max_in_flight)
    metrics.watch_in_flight(lambda: issuer.in_flight)
    signer = CodeSigner(settings.coupon_secret.get_secret_value().encode())
    identity = Identity.from_settings(settings)
    ids = RequestIds()
    endpoint = IssueEndpoint(
        issuer, signer, metrics, settings.max_body_bytes, settings.retry_after_s, ids, identity
    )
    lifecycle = Lifecycle(redis, scripts, Fence(redis, settings.fence_wait_s))
    return Services(
        settings,
        redis,
        hot,
        scripts,
        EventService(store, None),
        frozen,
        signer,
        metrics,
        endpoint,
        identity,
        ids,
        lifecycle,
        QueueStore(redis, scripts),
    )
