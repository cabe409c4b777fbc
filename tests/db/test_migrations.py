"""The schema migrates up, down to nothing, and up again on a database of its own."""

from __future__ import annotations

import subprocess
import sys

import asyncpg

from couponrush.stack import postgres
from tests.fixtures.postgres import PgServer

# Alembic's env runs an event loop of its own: drive it in a process of its own.
_MIGRATE = """
import sys
from alembic import command
from couponrush.db import migrate
command.{verb}(migrate.config(sys.argv[1]), sys.argv[2])
"""


def _alembic(verb: str, url: str, revision: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _MIGRATE.format(verb=verb), url, revision],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


async def _tables(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
    finally:
        await conn.close()
    return {r["tablename"] for r in rows}


async def test_upgrade_downgrade_upgrade(pg: PgServer) -> None:
    url = postgres.database_url(pg.port, "couponrush_migrations")
    postgres.ensure_database(url)
    _alembic("upgrade", url, "head")
    assert {"coupons", "coupon_issuances"} <= await _tables(url)
    _alembic("downgrade", url, "base")
    assert await _tables(url) == {"alembic_version"}
    _alembic("upgrade", url, "head")
    assert {"coupons", "coupon_issuances"} <= await _tables(url)
