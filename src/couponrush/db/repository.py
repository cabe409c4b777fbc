"""asyncpg adapter for the two tables (DESIGN §6); the runtime goes through no ORM.

Connection failures become DatabaseUnavailable here, at the edge; constraint and data
errors keep their asyncpg type, which the pipeline classifies as permanent.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from couponrush.core.errors import CouponMismatch, DatabaseUnavailable
from couponrush.core.event import Event, from_record, opening_record
from couponrush.core.season import definition
from couponrush.core.win import ExistingRow, Win
from couponrush.settings import DatabaseArgs

UNREACHABLE = (OSError, TimeoutError, asyncpg.PostgresConnectionError,
               asyncpg.CannotConnectNowError, asyncpg.InterfaceError,
               asyncpg.OperatorInterventionError)  # fmt: skip


@contextmanager
def translated() -> Iterator[None]:
    """The database unreachable, restarting or too slow -> DatabaseUnavailable."""
    try:
        yield
    except UNREACHABLE as exc:
        raise DatabaseUnavailable("The database is unavailable.") from exc


@dataclass(frozen=True, slots=True)
class IssuanceRow:
    user_id: str
    slot: int
    coupon_code: str
    issued_at: datetime
    persisted_at: datetime


_INSERT = """
INSERT INTO coupon_issuances (event_id, user_id, slot, coupon_code, issued_at, request_id)
SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::text[], $5::timestamptz[], $6::text[])
ON CONFLICT DO NOTHING
RETURNING event_id, user_id, slot
"""
_IN_THE_WAY = """
SELECT i.event_id, i.user_id, i.slot FROM coupon_issuances i
JOIN unnest($1::text[], $2::text[], $3::int[]) AS w(event_id, user_id, slot)
  ON i.event_id = w.event_id AND (i.user_id = w.user_id OR i.slot = w.slot)
"""
_ENSURE = (
    "INSERT INTO coupons (id, name, total_stock, starts_at, ends_at) "
    "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING"
)
_CREATE = """
INSERT INTO coupons (id, name, total_stock, starts_at, ends_at, definition, opening)
VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING RETURNING id
"""
_DEFINED = (
    "SELECT id, name, total_stock, starts_at, ends_at, opening, definition FROM coupons "
    "WHERE id = $1"
)
_FORGET = """
DELETE FROM coupons c WHERE c.id = $1
AND NOT EXISTS (SELECT 1 FROM coupon_issuances i WHERE i.event_id = c.id)
"""
_COUPON = "SELECT id, name, total_stock, starts_at, ends_at, opening FROM coupons WHERE id = $1"
_ISSUANCES = """
SELECT user_id, slot, coupon_code, issued_at, persisted_at FROM coupon_issuances
WHERE event_id = $1 AND ($2::text[] IS NULL OR user_id = ANY($2::text[])) ORDER BY slot
"""


class Repository:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool

    @classmethod
    async def connect(
        cls, url: str, max_size: int = 4, connect_args: DatabaseArgs | None = None
    ) -> Repository:
        """A pool that connects lazily, so a process starts (and serves) while the DB is away;
        ``connect_args``: the password and sslmode given apart from the URL."""
        pool = await asyncpg.create_pool(
            url,
            min_size=0,
            max_size=max_size,
            timeout=5,
            command_timeout=30,
            **(connect_args or {}),
        )
        return cls(pool)

    async def close(self) -> None:
        await self._pool.close()

    async def ping(self) -> None:
        """Raises while the database cannot be reached (the pool connects lazily)."""
        await self._pool.fetchval("SELECT 1")

    async def insert_wins(
        self, wins: Sequence[Win], codes: Sequence[str]
    ) -> dict[Win, list[ExistingRow]]:
        """One multi-row insert in one transaction; each win it skipped, with the rows in
        its way. A skipped win whose identical row exists is a re-delivery; the caller
        tells them apart."""
        async with self._pool.acquire() as conn, conn.transaction():
            done = await conn.fetch(
                _INSERT,
                [w.event_id for w in wins],
                [w.user_id for w in wins],
                [w.slot for w in wins],
                list(codes),
                [w.issued_at for w in wins],
                [w.request_id for w in wins],
            )
            inserted = {(r["event_id"], r["user_id"], r["slot"]) for r in done}
            skipped = [w for w in wins if (w.event_id, w.user_id, w.slot) not in inserted]
            if not skipped:
                return {}
            rows = await conn.fetch(
                _IN_THE_WAY,
                [w.event_id for w in skipped],
                [w.user_id for w in skipped],
                [w.slot for w in skipped],
            )
        return {
            w: [
                ExistingRow(r["user_id"], r["slot"])
                for r in rows
                if r["event_id"] == w.event_id
                and (r["user_id"] == w.user_id or r["slot"] == w.slot)
            ]
            for w in skipped
        }

    async def ensure_events(self, events: Sequence[Event]) -> None:
        await self._pool.executemany(
            _ENSURE, [(e.event_id, e.name, e.total_stock, e.starts_at, e.ends_at) for e in events]
        )

    async def create_event(self, event: Event) -> bool:
        """Write the event's row (True), or accept one written by the same definition (a
        retried create: False); else CouponMismatch. A row written before definitions
        were kept is compared by its values."""
        asked = definition(event)
        with translated():
            inserted = await self._pool.fetchval(
                _CREATE,
                event.event_id,
                event.name,
                event.total_stock,
                event.starts_at,
                event.ends_at,
                asked,
                opening_record(event),
            )
            if inserted is not None:
                return True
            row = await self._pool.fetchrow(_DEFINED, event.event_id)
        if row is None:  # deleted in between: the caller's retry writes it
            raise DatabaseUnavailable("The event's row changed meanwhile; try again.")
        found = row["definition"] or definition(_event(row))
        if found != asked:
            raise CouponMismatch(event.event_id)
        return False

    async def forget_event(self, event_id: str) -> None:
        """Take back a row this request wrote whose Redis side failed (it holds no win)."""
        with translated():
            await self._pool.execute(_FORGET, event_id)

    async def event(self, event_id: str) -> Event | None:
        r = await self._pool.fetchrow(_COUPON, event_id)
        return None if r is None else _event(r)

    async def known_events(self, event_ids: Sequence[str]) -> set[str]:
        rows = await self._pool.fetch(
            "SELECT id FROM coupons WHERE id = ANY($1::text[])", list(event_ids)
        )
        return {r["id"] for r in rows}

    async def issuances(
        self, event_id: str, users: Sequence[str] | None = None
    ) -> list[IssuanceRow]:
        """The event's rows by slot (only ``users``' when given)."""
        rows = await self._pool.fetch(_ISSUANCES, event_id, None if users is None else list(users))
        return [
            IssuanceRow(
                r["user_id"], r["slot"], r["coupon_code"], r["issued_at"], r["persisted_at"]
            )
            for r in rows
        ]


def _event(r: asyncpg.Record) -> Event:
    opening, seed = from_record(r["opening"])
    return Event(r["id"], r["name"], r["total_stock"], r["starts_at"], r["ends_at"], opening, seed)
