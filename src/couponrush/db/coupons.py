"""Coupons after the sale: found by their code (UNIQUE(coupon_code)), redeemed once or
revoked under a row lock with the audit row of the action, and an event's winners
streamed for export."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import asyncpg

from couponrush.core.coupon import Coupon, redemption, revocation
from couponrush.db.access import AuditRecord, insert_audit
from couponrush.db.repository import translated

# Every statement is a constant: the column list is spelt out in each, not formatted in.
_FIND = """
SELECT coupon_code, event_id, user_id, slot, issued_at, state, order_id, redeemed_at,
       revoked_at, revoke_reason
FROM coupon_issuances WHERE coupon_code = $1
"""
_REDEEM = """
UPDATE coupon_issuances SET state = 'redeemed', order_id = $2, redeemed_at = now()
WHERE coupon_code = $1
RETURNING coupon_code, event_id, user_id, slot, issued_at, state, order_id, redeemed_at,
          revoked_at, revoke_reason
"""
_REVOKE = """
UPDATE coupon_issuances SET state = 'revoked', revoke_reason = $2, revoked_at = now()
WHERE coupon_code = $1
RETURNING coupon_code, event_id, user_id, slot, issued_at, state, order_id, redeemed_at,
          revoked_at, revoke_reason
"""
_WINNERS = """
SELECT coupon_code, event_id, user_id, slot, issued_at, state, order_id, redeemed_at,
       revoked_at, revoke_reason
FROM coupon_issuances WHERE event_id = $1 ORDER BY slot
"""
# The answer of an action: the coupon as it is after it (None: no such code), the result
# code, and whether it changed anything.
Done = tuple[Coupon | None, str, bool]
Signed = Callable[[Coupon], bool]


def _coupon(r: asyncpg.Record) -> Coupon:
    return Coupon(**dict(r))


class Coupons:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def find(self, code: str) -> Coupon | None:
        with translated():
            row = await self._pool.fetchrow(_FIND, code)
        return None if row is None else _coupon(row)

    async def redeem(self, code: str, order_id: str, signed: Signed, audit: AuditRecord) -> Done:
        def decide(coupon: Coupon) -> tuple[str, bool]:
            return redemption(coupon, order_id, signed(coupon))

        return await self._act(code, decide, (_REDEEM, order_id), "redeemed", audit)

    async def revoke(self, code: str, reason: str, audit: AuditRecord) -> Done:
        return await self._act(code, revocation, (_REVOKE, reason), "revoked", audit)

    async def _act(
        self,
        code: str,
        decide: Callable[[Coupon], tuple[str, bool]],
        update: tuple[str, str],
        success: str,
        audit: AuditRecord,
    ) -> Done:
        """Under the row's lock: decide, change, write the audit row; all or nothing.
        Concurrent requests for one code take turns, each seeing the one before it."""
        with translated():
            async with self._pool.acquire() as conn, conn.transaction():
                row = await conn.fetchrow(_FIND + " FOR UPDATE", code)
                if row is None:
                    await insert_audit(conn, audit.ended(404, "not_found"))
                    return None, "not_found", False
                coupon = _coupon(row)
                result, changes = decide(coupon)
                if changes:
                    changed = await conn.fetchrow(update[0], code, update[1])
                    assert changed is not None  # the row is locked: it is still there
                    coupon = _coupon(changed)
                status = 200 if result == success else 409
                ended = audit.ended(status, result, changed=changes, state=coupon.state)
                await insert_audit(conn, ended)
        return coupon, result, changes

    async def winners(self, event_id: str, batch: int = 1000) -> AsyncIterator[list[Coupon]]:
        """The event's coupons by slot, ``batch`` at a time, through a server-side cursor
        (the export never holds the whole event in memory)."""
        with translated():
            async with self._pool.acquire() as conn, conn.transaction(readonly=True):
                cursor = conn.cursor(_WINNERS, event_id, prefetch=batch)
                chunk: list[Coupon] = []
                async for row in cursor:
                    chunk.append(_coupon(row))
                    if len(chunk) >= batch:
                        yield chunk
                        chunk = []
                if chunk:
                    yield chunk
