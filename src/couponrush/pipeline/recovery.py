"""Reconcile and restore against the live stores (the I/O around pipeline.reconcile)."""

from __future__ import annotations

import time
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import WatchError

from couponrush.codes import CodeSigner
from couponrush.db import repo
from couponrush.errors import EventNotFound, PermanentError
from couponrush.keys import EVENTS, decode_participant, encode_participant, event_keys
from couponrush.pipeline.meta import meta_from_coupon
from couponrush.pipeline.model import Win
from couponrush.pipeline.reconcile import DbRow, Report, diff, expected_stock

__all__ = ["RedisStateExists", "Report", "reconcile", "repair", "restore"]

REPAIR_REQUEST_ID = "reconcile-repair"


class RedisStateExists(PermanentError):
    """Restore would overwrite an event that Redis still holds."""


async def reconcile(redis: Redis, pool: Any, signer: CodeSigner, event_id: str) -> Report:
    keys = event_keys(event_id)
    coupon = await repo.get_coupon(pool, event_id)
    meta: Any = await redis.hgetall(keys.meta)
    if coupon is None and not meta:
        raise EventNotFound(event_id)
    total = coupon.total_stock if coupon else int(meta["total"])
    raw: Any = await redis.hgetall(keys.participants)
    stock = await redis.get(keys.stock)
    rows = [DbRow(r.user_id, r.slot, r.coupon_code) for r in await repo.issuances(pool, event_id)]
    winners = {user: decode_participant(value) for user, value in raw.items()}
    return diff(event_id, total, None if stock is None else int(stock), winners, rows,
                lambda slot, user: signer.code(event_id, slot, user))  # fmt: skip


async def repair(redis: Redis, report: Report) -> None:
    """Mend what is safe to mend, and say so in ``report.repaired``.

    Missing rows are queued again from Redis (the consumer writes them); the stock counter
    is set from the winners. Rows Redis lacks and slot conflicts need a person (or
    ``restore`` after a Redis loss): guessing could hand a slot out twice.
    """
    keys = event_keys(report.event_id)
    if report.missing_in_db:
        raw: Any = await redis.hmget(keys.participants, report.missing_in_db)
        async with redis.pipeline(transaction=False) as pipe:
            for user, value in zip(report.missing_in_db, raw, strict=True):
                if value is not None:
                    slot, issued = decode_participant(value)
                    win = Win(report.event_id, user, slot, issued, REPAIR_REQUEST_ID)
                    pipe.xadd(keys.outbox, win.outbox_fields())  # type: ignore[arg-type]
            await pipe.execute()
        report.repaired.append(f"queued {len(report.missing_in_db)} missing rows again")
    if report.stock_mismatch:
        stock = await _fix_stock(redis, report.event_id, report.total)
        report.repaired.append(f"stock counter set to {stock}")


async def _fix_stock(redis: Redis, event_id: str, total: int) -> int:
    """Set the counter from the winners, atomically against concurrent issues."""
    keys = event_keys(event_id)
    async with redis.pipeline(transaction=True) as pipe:
        for _ in range(100):
            try:
                await pipe.watch(keys.stock, keys.participants)
                raw: Any = await pipe.hvals(keys.participants)
                stock = expected_stock(total, [decode_participant(v)[0] for v in raw])
                pipe.multi()  # type: ignore[no-untyped-call]
                pipe.set(keys.stock, stock)
                await pipe.execute()
                return stock
            except WatchError:
                continue
    raise RuntimeError("stock counter kept changing; run reconcile again")


async def restore(redis: Redis, pool: Any, event_id: str, force: bool = False) -> int:
    """Rebuild an event's Redis state from the database; the number of winners restored.

    The counter resumes after the highest slot the database holds, so a slot lost with
    Redis is never handed out again. The outbox is not refilled: its wins are in the DB.
    """
    coupon = await repo.get_coupon(pool, event_id)
    if coupon is None:
        raise EventNotFound(event_id)
    rows = await repo.issuances(pool, event_id)
    keys = event_keys(event_id)
    if not force and await redis.exists(keys.meta, keys.stock, keys.participants):
        raise RedisStateExists(f"Redis still holds event {event_id!r}; use --force")
    stock = expected_stock(coupon.total_stock, [r.slot for r in rows])
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(keys.participants, keys.stock, keys.meta)
        for start in range(0, len(rows), 1000):
            chunk = rows[start : start + 1000]
            pipe.hset(keys.participants, mapping={
                r.user_id: encode_participant(r.slot, int(r.issued_at.timestamp() * 1000))
                for r in chunk})  # fmt: skip
        meta: Any = meta_from_coupon(coupon, int(time.time() * 1000))
        pipe.hset(keys.meta, mapping=meta)
        pipe.set(keys.stock, stock)
        await pipe.execute()
    await redis.sadd(EVENTS, event_id)
    return len(rows)
