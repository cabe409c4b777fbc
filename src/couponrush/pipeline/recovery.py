"""Reconcile and restore against the live stores (the I/O around core.reconcile)."""

from __future__ import annotations

from collections.abc import Sequence

from couponrush.core.codes import CodeSigner
from couponrush.core.errors import EventNotFound, RedisStateExists
from couponrush.core.reconcile import Claim, DbRow, Report, diff, expected_stock
from couponrush.core.win import Win
from couponrush.db.repository import Repository
from couponrush.store import stats
from couponrush.store.client import RedisClient
from couponrush.store.events import EventStore
from couponrush.store.frozen import Fence
from couponrush.store.stats import ReconcileRecord
from couponrush.store.streams import requeue

__all__ = ["Report", "reconcile", "record", "repair", "restore"]

REPAIR_REQUEST_ID = "reconcile-repair"


async def reconcile(store: EventStore, db: Repository, signer: CodeSigner, event_id: str,
                    claims: Sequence[Claim] = ()) -> Report:  # fmt: skip
    event = await db.event(event_id) or await store.definition(event_id)
    if event is None:
        raise EventNotFound(event_id)
    winners, stock = await store.winners(event_id)
    rows = [DbRow(r.user_id, r.slot, r.coupon_code) for r in await db.issuances(event_id)]
    return diff(event_id, event.total_stock, stock, winners, rows,
                lambda slot, user: signer.code(event_id, slot, user), claims)  # fmt: skip


async def record(redis: RedisClient, report: Report) -> ReconcileRecord:
    """Keep what the check found in Redis, where the consumers' metrics read it."""
    return await stats.record_reconcile(redis, report.event_id, report.breaches())


async def repair(redis: RedisClient, store: EventStore, fence: Fence, report: Report) -> None:
    """Mend what is safe to mend, and say so in ``report.repaired``.

    Missing rows are queued again from Redis (the consumer writes them); the stock counter
    is set from the winners, behind the fence (it may re-open a sold-out event). Rows Redis
    lacks and slot conflicts need a person (or ``restore`` after a Redis loss): guessing
    could hand a slot out twice.
    """
    if report.missing_in_db:
        winners, _ = await store.winners(report.event_id)
        wins = [Win(report.event_id, user, *winners[user], REPAIR_REQUEST_ID)
                for user in report.missing_in_db if user in winners]  # fmt: skip
        await requeue(redis, report.event_id, wins)
        report.repaired.append(f"queued {len(report.missing_in_db)} missing rows again")
    if report.stock_mismatch:
        async with fence.held(report.event_id):
            stock = await store.fix_stock(report.event_id, report.total)
        report.repaired.append(f"stock counter set to {stock}")


async def restore(store: EventStore, db: Repository, fence: Fence, event_id: str,
                  force: bool = False) -> int:  # fmt: skip
    """Rebuild an event's Redis state from the database; the number of winners restored.

    The counter resumes after the highest slot the database holds, so a slot lost with
    Redis is never handed out again. The outbox is not refilled: its wins are in the DB.
    The write waits behind the fence: no gateway or app worker answers "sold out" from
    the state before it once the restored stock is there.
    """
    event = await db.event(event_id)
    if event is None:
        raise EventNotFound(event_id)
    rows = await db.issuances(event_id)
    if not force and await store.holds(event_id):
        raise RedisStateExists(f"Redis still holds event {event_id!r}; use --force")
    stock = expected_stock(event.total_stock, [r.slot for r in rows])
    wins = [(r.user_id, r.slot, int(r.issued_at.timestamp() * 1000)) for r in rows]
    async with fence.held(event_id):
        await store.restore(event, wins, stock)
    return len(rows)
