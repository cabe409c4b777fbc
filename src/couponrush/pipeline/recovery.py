"""Reconcile and restore against the live stores (the I/O around core.reconcile).

Both need the wins on their way to the database (``InFlight``): the outbox entries the
draining group has not acknowledged, and in Kafka mode the messages after the consumer
group's committed offsets. Reconcile compares below them; restore takes them as held.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from couponrush.core.codes import CodeSigner
from couponrush.core.errors import EventNotFound, RedisStateExists
from couponrush.core.reconcile import Claim, DbRow, Report, diff, unconfirmed
from couponrush.core.win import Win
from couponrush.db.events import EventRows
from couponrush.db.repository import Repository
from couponrush.store import live, stats
from couponrush.store.client import RedisClient
from couponrush.store.events import EventStore, Restored
from couponrush.store.frozen import Fence
from couponrush.store.stats import ReconcileRecord
from couponrush.store.streams import requeue

__all__ = ["InFlight", "Report", "reconcile", "record", "repair", "restore", "settled"]

REPAIR_REQUEST_ID = "reconcile-repair"
# The wins of an event on their way to the database (see the module).
InFlight = Callable[[str], Awaitable[list[Win]]]


async def settled(event_id: str) -> list[Win]:
    """Nothing in flight: for a check after the pipeline drained, which compares all."""
    del event_id
    return []


async def reconcile(
    store: EventStore,
    db: Repository,
    signer: CodeSigner,
    event_id: str,
    claims: Sequence[Claim] = (),
    in_flight: InFlight = settled,
) -> Report:
    """A consistent cut of a live sale: the rows first, then Redis (winners and stock at one
    moment), then what is in flight; a winner below the watermark that the rows lack is
    read once more before it counts as missing (it may have landed since)."""
    event = await db.event(event_id) or await store.definition(event_id)
    if event is None:
        raise EventNotFound(event_id)
    rows = [DbRow(r.user_id, r.slot, r.coupon_code) for r in await db.issuances(event_id)]
    winners, stock = await store.winners(event_id)
    moving = await in_flight(event_id)
    watermark = min((w.slot for w in moving), default=None)
    late = unconfirmed(winners, rows, watermark)
    if late:
        rows += [
            DbRow(r.user_id, r.slot, r.coupon_code)
            for r in await db.issuances(event_id, users=late)
        ]
    return diff(
        event_id,
        event.total_stock,
        stock,
        winners,
        rows,
        lambda slot, user: signer.code(event_id, slot, user),
        claims,
        watermark,
    )


async def record(redis: RedisClient, report: Report) -> ReconcileRecord:
    """Keep what the check found in Redis, where the consumers' metrics read it."""
    return await stats.record_reconcile(redis, report.event_id, report.breaches())


async def repair(redis: RedisClient, store: EventStore, fence: Fence, report: Report) -> None:
    """Mend what is safe to mend, and say so in ``report.repaired``.

    Missing rows are queued again from Redis (the consumer writes them); the stock counter
    is set from the winners, behind the fence (it may re-open a sold-out event). Rows Redis
    lacks and slot conflicts need a person (or ``restore`` after a Redis loss): guessing
    could hand a slot out twice. The event is live again afterwards, so the sweeps carry
    what was queued.
    """
    if report.missing_in_db:
        winners, _ = await store.winners(report.event_id)
        wins = [
            Win(report.event_id, user, *winners[user], REPAIR_REQUEST_ID)
            for user in report.missing_in_db
            if user in winners
        ]
        await requeue(redis, report.event_id, wins)
        report.repaired.append(f"queued {len(report.missing_in_db)} missing rows again")
    if report.stock_mismatch:
        async with fence.held(report.event_id):
            stock = await store.fix_stock(report.event_id, report.total)
        report.repaired.append(f"stock counter set to {stock}")
    if report.repaired:
        await live.enlist(redis, report.event_id)


@dataclass(frozen=True, slots=True)
class RestoreReport:
    event_id: str
    restored: Restored
    from_database: int
    # Winners the database did not hold yet, found on their way (outbox, topic).
    in_flight: int


async def restore(
    store: EventStore,
    db: Repository,
    fence: Fence,
    event_id: str,
    force: bool = False,
    in_flight: InFlight = settled,
) -> RestoreReport:
    """Rebuild an event's Redis state from everything that holds its wins.

    Behind the fence first (no gateway or app cache answers "sold out" from before, once
    the stock is back), then read: the database's rows, the wins still on their way (the
    outbox, the topic), and whatever Redis still holds. The counter resumes after the
    highest slot any of them holds, so no slot is handed out twice and no winner is
    forgotten; the wins on their way are written by the pipeline as usual.
    """
    row = await EventRows(db.pool).get(event_id)
    event = await db.event(event_id)
    if row is None or event is None:
        raise EventNotFound(event_id)
    if not force and await store.holds(event_id):
        raise RedisStateExists(f"Redis still holds event {event_id!r}; use --force")
    async with fence.held(event_id):
        rows = await db.issuances(event_id)
        moving = await in_flight(event_id)
        persisted = [(r.user_id, r.slot, int(r.issued_at.timestamp() * 1000)) for r in rows]
        queued = [(w.user_id, w.slot, w.issued_at_ms) for w in moving]
        restored = await store.restore(event, persisted, queued, row.archived_at is not None)
    persisted_users = {r.user_id for r in rows}
    on_their_way = len({w.user_id for w in moving} - persisted_users)
    return RestoreReport(event_id, restored, len(rows), on_their_way)
