"""Alembic environment: online migrations over SQLAlchemy's asyncpg dialect.

An advisory lock serialises concurrent ``db upgrade`` runs (several hosts starting).
"""

from __future__ import annotations

import asyncio

import asyncpg
from alembic import context
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from couponrush.settings import DatabaseArgs

_LOCK_ID = 0x636F75706F6E  # "coupon"


def _run(connection: Connection) -> None:
    connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": _LOCK_ID})
    context.configure(connection=connection, target_metadata=None)
    with context.begin_transaction():
        context.run_migrations()


async def _online() -> None:
    url: str = context.config.attributes["database_url"]
    args: DatabaseArgs = context.config.attributes["connect_args"]
    # asyncpg connects (URL, password, sslmode) as the runtime does; SQLAlchemy wraps it.
    engine = create_async_engine(
        "postgresql+asyncpg://",
        poolclass=NullPool,
        async_creator=lambda: asyncpg.connect(url, **args),
    )
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported")
asyncio.run(_online())
