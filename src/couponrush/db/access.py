"""Who may do what, and what they did: the api_tokens table (scoped tokens, stored as
their SHA-256 only, revocable at any time) and the audit_log table."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Protocol

import asyncpg
import orjson

from couponrush.core.tokens import Principal, Scope, new_token, token_hash
from couponrush.db.repository import translated


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One action: by whom (the token), what, on what, how it ended, and its request id."""

    principal: Principal
    action: str
    target: str
    status: int
    result: str
    request_id: str
    detail: dict[str, Any] = field(default_factory=dict)

    def ended(self, status: int, result: str, **detail: Any) -> AuditRecord:
        """This record once the action answered ``status`` with ``result``."""
        return replace(self, status=status, result=result, detail={**self.detail, **detail})


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    token_id: int | None
    token_name: str
    scope: str
    action: str
    target: str
    status: int
    result: str
    request_id: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class TokenRow:
    id: int
    name: str
    scope: str
    created_at: datetime
    revoked_at: datetime | None


_AUDIT = """
INSERT INTO audit_log (token_id, token_name, scope, action, target, status, result,
                       request_id, detail)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)
"""
_AUDIT_PAGE = """
SELECT id, at, token_id, token_name, scope, action, target, status, result, request_id,
       detail::text AS detail
FROM audit_log
WHERE ($1::bigint IS NULL OR id < $1) AND ($2::text IS NULL OR action = $2)
  AND ($3::text IS NULL OR target = $3)
ORDER BY id DESC LIMIT $4
"""


class Executes(Protocol):
    """A pool or one of its connections (inside a transaction)."""

    async def execute(self, query: str, *args: object) -> str: ...


async def insert_audit(conn: Executes, record: AuditRecord) -> None:
    p = record.principal
    await conn.execute(
        _AUDIT,
        p.token_id,
        p.name,
        p.scope,
        record.action,
        record.target,
        record.status,
        record.result,
        record.request_id,
        orjson.dumps(record.detail).decode(),
    )


class AuditLog:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def add(self, record: AuditRecord) -> None:
        with translated():
            await insert_audit(self._pool, record)

    async def page(
        self, before_id: int | None, limit: int, action: str | None, target: str | None
    ) -> list[AuditEntry]:
        """Newest first, below ``before_id``."""
        with translated():
            rows = await self._pool.fetch(_AUDIT_PAGE, before_id, action, target, limit)
        return [AuditEntry(**{**dict(r), "detail": orjson.loads(r["detail"])}) for r in rows]


class Tokens:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def create(self, name: str, scope: Scope) -> tuple[int, str]:
        """A new token: its id, and its text (shown once; only its hash is kept)."""
        token = new_token()
        sql = "INSERT INTO api_tokens (name, scope, token_hash) VALUES ($1, $2, $3) RETURNING id"
        with translated():
            token_id = await self._pool.fetchval(sql, name, scope, token_hash(token))
        return int(token_id), token

    async def principal(self, token: str) -> Principal | None:
        """Whose token this is, while it is not revoked (read on every request, so a
        revocation counts at once, with no restart)."""
        sql = "SELECT id, name, scope FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL"
        with translated():
            row = await self._pool.fetchrow(sql, token_hash(token))
        return None if row is None else Principal(int(row["id"]), row["name"], row["scope"])

    async def list(self) -> list[TokenRow]:
        sql = "SELECT id, name, scope, created_at, revoked_at FROM api_tokens ORDER BY id"
        with translated():
            return [TokenRow(**dict(r)) for r in await self._pool.fetch(sql)]

    async def revoke(self, token_id: int) -> bool:
        """True when the token existed and was live until now."""
        sql = (
            "UPDATE api_tokens SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL "
            "RETURNING id"
        )
        with translated():
            return await self._pool.fetchval(sql, token_id) is not None
