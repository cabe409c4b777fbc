"""asyncpg adapters for the two tables (DESIGN §6); the runtime goes through no ORM."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg  # type: ignore[import-untyped]

from couponrush.errors import EventExists, RetryableError
from couponrush.pipeline.model import ExistingRow, Win

Pool = Any  # asyncpg.Pool or Connection: asyncpg ships no type information

_UNREACHABLE = (OSError, TimeoutError, asyncpg.PostgresConnectionError,
                asyncpg.CannotConnectNowError, asyncpg.InterfaceError,
                asyncpg.OperatorInterventionError)  # fmt: skip


class DatabaseUnavailable(RetryableError):
    """PostgreSQL did not answer, refused the connection or is restarting."""


class CouponMismatch(EventExists):
    """An event id already has a coupons row with other values."""


@dataclass(frozen=True, slots=True)
class CouponRow:
    event_id: str
    name: str
    total_stock: int
    starts_at: datetime | None
    ends_at: datetime | None


@dataclass(frozen=True, slots=True)
class IssuanceRow:
    user_id: str
    slot: int
    coupon_code: str
    issued_at: datetime
    persisted_at: datetime


async def create_pool(url: str, max_size: int = 4) -> Pool:
    """A pool that connects lazily, so a process starts (and serves) while the DB is away."""
    return await asyncpg.create_pool(url, min_size=0, max_size=max_size, timeout=5,
                                     command_timeout=30)  # fmt: skip


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


async def insert_wins(
    pool: Pool, wins: Sequence[Win], codes: Sequence[str]
) -> dict[Win, list[ExistingRow]]:
    """One multi-row insert in one transaction; each win it skipped, with the rows in its way.

    A skipped win whose identical row exists is a re-delivery; the caller tells them apart.
    """
    async with pool.acquire() as conn, conn.transaction():
        done = await conn.fetch(
            _INSERT, [w.event_id for w in wins], [w.user_id for w in wins],
            [w.slot for w in wins], list(codes), [w.issued_at for w in wins],
            [w.request_id for w in wins],
        )  # fmt: skip
        inserted = {(r["event_id"], r["user_id"], r["slot"]) for r in done}
        skipped = [w for w in wins if (w.event_id, w.user_id, w.slot) not in inserted]
        if not skipped:
            return {}
        rows = await conn.fetch(
            _IN_THE_WAY, [w.event_id for w in skipped], [w.user_id for w in skipped],
            [w.slot for w in skipped],
        )  # fmt: skip
    return {
        w: [ExistingRow(r["user_id"], r["slot"]) for r in rows
            if r["event_id"] == w.event_id and (r["user_id"] == w.user_id or r["slot"] == w.slot)]
        for w in skipped
    }  # fmt: skip


async def ensure_coupons(conn: Pool, rows: Sequence[CouponRow]) -> None:
    """Insert coupons rows that are not there yet; an existing row is left as it is."""
    await conn.executemany(
        "INSERT INTO coupons (id, name, total_stock, starts_at, ends_at) "
        "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
        [(r.event_id, r.name, r.total_stock, r.starts_at, r.ends_at) for r in rows],
    )


async def create_coupon(pool: Pool, row: CouponRow) -> None:
    """Write the event's row, or accept an identical one (a retried create); else mismatch."""
    try:
        async with pool.acquire() as conn:
            await ensure_coupons(conn, [row])
            found = await get_coupon(conn, row.event_id)
    except _UNREACHABLE as exc:
        raise DatabaseUnavailable(f"database: {type(exc).__name__}") from exc
    if found != row:
        raise CouponMismatch(row.event_id)


async def get_coupon(conn: Pool, event_id: str) -> CouponRow | None:
    r = await conn.fetchrow(
        "SELECT id, name, total_stock, starts_at, ends_at FROM coupons WHERE id = $1", event_id
    )
    if r is None:
        return None
    return CouponRow(r["id"], r["name"], r["total_stock"], r["starts_at"], r["ends_at"])


async def known_events(conn: Pool, event_ids: Sequence[str]) -> set[str]:
    rows = await conn.fetch("SELECT id FROM coupons WHERE id = ANY($1::text[])", list(event_ids))
    return {r["id"] for r in rows}


async def issuances(conn: Pool, event_id: str) -> list[IssuanceRow]:
    rows = await conn.fetch(
        "SELECT user_id, slot, coupon_code, issued_at, persisted_at FROM coupon_issuances "
        "WHERE event_id = $1 ORDER BY slot",
        event_id,
    )
    return [IssuanceRow(r["user_id"], r["slot"], r["coupon_code"], r["issued_at"],
                        r["persisted_at"]) for r in rows]  # fmt: skip
