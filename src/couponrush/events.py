"""Event set-up and read models over Redis (the adapter for everything but issue)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis

from couponrush.db import repo
from couponrush.errors import EventExists
from couponrush.keys import EVENTS, decode_participant, event_keys
from couponrush.models import CreateEventRequest, EventStatus
from couponrush.scripts import Scripts, run


@dataclass(frozen=True, slots=True)
class EventView:
    event_id: str
    name: str
    total_stock: int
    remaining: int
    issued: int
    starts_at_ms: int | None
    ends_at_ms: int | None
    now_ms: int

    @property
    def status(self) -> EventStatus:
        return event_status(self.remaining, self.starts_at_ms, self.ends_at_ms, self.now_ms)


def event_status(
    remaining: int, starts_at_ms: int | None, ends_at_ms: int | None, now_ms: int
) -> EventStatus:
    if starts_at_ms is not None and now_ms < starts_at_ms:
        return "scheduled"
    if ends_at_ms is not None and now_ms >= ends_at_ms:
        return "closed"
    return "sold_out" if remaining <= 0 else "open"


def _ms(value: datetime | None) -> str:
    return "" if value is None else str(int(value.timestamp() * 1000))


def _opt_int(value: str | None) -> int | None:
    return int(value) if value else None


class EventStore:
    def __init__(self, redis: Redis, scripts: Scripts, db: repo.Pool | None = None) -> None:
        self._redis = redis
        self._scripts = scripts
        self._db = db

    async def create(self, req: CreateEventRequest) -> None:
        """The coupons row first, then Redis: wins can only exist for an event the database
        knows. A crash between leaves a row without Redis state, which a retried create
        (same values) or ``restore`` mends; different values for the id are a conflict."""
        if self._db is not None:
            row = repo.CouponRow(
                req.event_id, req.name, req.total_stock, req.starts_at, req.ends_at
            )
            await repo.create_coupon(self._db, row)
        keys = event_keys(req.event_id)
        args = (
            req.total_stock,
            _ms(req.starts_at),
            _ms(req.ends_at),
            req.name,
            int(time.time() * 1000),
        )
        script = self._scripts.create_event
        reply = await run(self._redis, self._scripts, script, keys.script_keys, args)
        # The registry set lives outside the event's hash slot, so it is a second step;
        # SADD is idempotent and runs on a refused create too, which mends a crash between.
        await self._redis.sadd(EVENTS, req.event_id)
        if reply != "CREATED":
            raise EventExists(req.event_id)

    async def get(self, event_id: str) -> EventView | None:
        keys = event_keys(event_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(keys.meta)
            pipe.get(keys.stock)
            pipe.hlen(keys.participants)
            pipe.time()
            meta, stock, issued, (sec, usec) = await pipe.execute()
        if not meta:
            return None
        return EventView(
            event_id=event_id,
            name=meta.get("name", ""),
            total_stock=int(meta["total"]),
            remaining=max(0, int(stock or 0)),
            issued=int(issued),
            starts_at_ms=_opt_int(meta.get("starts_at")),
            ends_at_ms=_opt_int(meta.get("ends_at")),
            now_ms=int(sec) * 1000 + int(usec) // 1000,
        )

    async def issuance(self, event_id: str, user_id: str) -> tuple[int, int] | None:
        value = await self._redis.hget(event_keys(event_id).participants, user_id)
        return None if value is None else decode_participant(value)

    async def ping(self) -> bool:
        return bool(await self._redis.ping())
