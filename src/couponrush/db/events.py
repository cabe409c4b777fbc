"""The coupons table as a season's list of events: newest first and paged, filtered by
status, and changed under a row lock together with the audit row of the change."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from couponrush.core.event import Event, EventStatus, opening_record
from couponrush.db.access import AuditRecord, Executes, insert_audit
from couponrush.db.repository import translated

_SELECT = (
    "SELECT id, name, total_stock, starts_at, ends_at, created_at, archived_at, opening "
    "FROM coupons"
)
_STARTED = "(starts_at IS NULL OR starts_at <= $1)"
# The statuses the table can tell by itself ($1 is now); "open" and "sold_out" share one
# (in the window, not archived) and the stock in Redis tells them apart.
_WHERE: dict[EventStatus, str] = {
    "archived": "archived_at IS NOT NULL",
    "scheduled": "archived_at IS NULL AND starts_at > $1",
    "closed": f"archived_at IS NULL AND {_STARTED} AND ends_at <= $1",
    "open": f"archived_at IS NULL AND {_STARTED} AND (ends_at IS NULL OR ends_at > $1)",
    "sold_out": f"archived_at IS NULL AND {_STARTED} AND (ends_at IS NULL OR ends_at > $1)",
}
_EVERY = "$1::timestamptz IS NOT NULL"
_SAVE = """
UPDATE coupons SET name = $2, total_stock = $3, starts_at = $4, ends_at = $5,
       archived_at = CASE WHEN $6 THEN coalesce(archived_at, now()) END, opening = $7
WHERE id = $1
"""
_NEWEST = " ORDER BY created_at DESC, id DESC LIMIT $2"


@dataclass(frozen=True, slots=True)
class EventRow:
    event_id: str
    name: str
    total_stock: int
    starts_at: datetime | None
    ends_at: datetime | None
    created_at: datetime
    archived_at: datetime | None
    # coupons.opening (core.event.opening_record); None: first come, first served
    opening: str | None = None


def _row(r: asyncpg.Record) -> EventRow:
    return EventRow(
        r["id"],
        r["name"],
        r["total_stock"],
        r["starts_at"],
        r["ends_at"],
        r["created_at"],
        r["archived_at"],
        r["opening"],
    )


def status_clause(statuses: Sequence[EventStatus]) -> str:
    """The WHERE clause of a status filter ($1 is now); every row when none is asked."""
    parts = sorted({_WHERE[s] for s in statuses})
    # $1 named in every clause: a parameter no clause names has no type.
    return f"{_EVERY} AND ({' OR '.join(f'({p})' for p in parts) or 'TRUE'})"


class EventRows:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def page(
        self,
        statuses: Sequence[EventStatus],
        now: datetime,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[EventRow]:
        """Up to ``limit`` rows, newest first, after the position ``after`` (created_at, id)."""
        where = f" WHERE ({status_clause(statuses)})"
        args: list[object] = [now, limit]
        if after is not None:
            where += " AND (created_at, id) < ($3, $4)"
            args += list(after)
        # Every part is a constant of this module; the values travel as parameters.
        sql = _SELECT + where + _NEWEST
        with translated():
            return [_row(r) for r in await self._pool.fetch(sql, *args)]

    async def get(self, event_id: str) -> EventRow | None:
        with translated():
            r = await self._pool.fetchrow(_SELECT + " WHERE id = $1", event_id)
        return None if r is None else _row(r)

    async def winner_counts(self, event_ids: Sequence[str]) -> dict[str, int]:
        """Rows per event (for the events Redis no longer holds)."""
        sql = (
            "SELECT event_id, count(*) AS n FROM coupon_issuances "
            "WHERE event_id = ANY($1::text[]) GROUP BY event_id"
        )
        with translated():
            found = await self._pool.fetch(sql, list(event_ids))
        return {r["event_id"]: int(r["n"]) for r in found}

    @asynccontextmanager
    async def changing(self, event_id: str) -> AsyncIterator[Change]:
        """The event's row, locked until the block ends; what the block writes through the
        Change commits at its end, or not at all."""
        with translated():
            async with self._pool.acquire() as conn, conn.transaction():
                found = await conn.fetchrow(_SELECT + " WHERE id = $1 FOR UPDATE", event_id)
                yield Change(conn, None if found is None else _row(found))


class Change:
    """Writes inside ``EventRows.changing``."""

    def __init__(self, conn: Executes, row: EventRow | None) -> None:
        self._conn = conn
        self.row = row

    async def save(self, event: Event, archived: bool) -> None:
        assert self.row is not None
        await self._conn.execute(
            _SAVE,
            self.row.event_id,
            event.name,
            event.total_stock,
            event.starts_at,
            event.ends_at,
            archived,
            opening_record(event),
        )

    async def audit(self, record: AuditRecord) -> None:
        await insert_audit(self._conn, record)
