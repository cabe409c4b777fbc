"""Alembic driven from code: the migrations ship inside the package, no alembic.ini.

The migrations connect with asyncpg exactly as the runtime does (the URL, then the
password and sslmode given apart from it), so libpq's URL parameters such as ``sslmode``
mean the same to both; SQLAlchemy only wraps that connection.
"""

from __future__ import annotations

import asyncpg
from alembic import command
from alembic.config import Config

from couponrush.core.errors import DatabaseUnavailable
from couponrush.db.repository import UNREACHABLE
from couponrush.settings import DatabaseArgs

SCRIPT_LOCATION = "couponrush.db:migrations"


def config(url: str, connect_args: DatabaseArgs | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    # Read by migrations/env.py; kept out of the main options (a ConfigParser), which
    # would read a '%' in a password as an interpolation.
    cfg.attributes["database_url"] = url
    cfg.attributes["connect_args"] = connect_args or DatabaseArgs()
    return cfg


def upgrade(url: str, revision: str = "head", connect_args: DatabaseArgs | None = None) -> None:
    """Bring the schema to ``revision``; safe to run again, and from several hosts at once.
    A server that cannot be reached or refuses the login (password, TLS) is one clear
    error, not a traceback."""
    try:
        command.upgrade(config(url, connect_args), revision)
    except (*UNREACHABLE, asyncpg.InvalidAuthorizationSpecificationError) as exc:
        raise DatabaseUnavailable(f"PostgreSQL: {type(exc).__name__}: {exc}") from exc
