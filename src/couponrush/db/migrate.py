"""Alembic driven from code: the migrations ship inside the package, no alembic.ini."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

SCRIPT_LOCATION = "couponrush.db:migrations"


def sqlalchemy_url(url: str) -> str:
    """The same database through SQLAlchemy's asyncpg dialect."""
    _, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not a database URL: {url!r}")
    return f"postgresql+asyncpg://{rest}"


def config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", SCRIPT_LOCATION)
    # ConfigParser interpolation would read a '%' in a password as a reference.
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema to ``revision``; safe to run again, and from several hosts at once."""
    command.upgrade(config(url), revision)
