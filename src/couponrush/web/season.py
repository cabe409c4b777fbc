"""The database side of a season, for the app worker: event rows, coupons, tokens and the
audit log over the worker's one pool (present only when a database is configured)."""

from __future__ import annotations

from dataclasses import dataclass

from couponrush.core.errors import NoDatabase
from couponrush.db.access import AuditLog, Tokens
from couponrush.db.coupons import Coupons
from couponrush.db.events import EventRows
from couponrush.db.repository import Repository


@dataclass(frozen=True, slots=True)
class Season:
    rows: EventRows
    coupons: Coupons
    tokens: Tokens
    audit: AuditLog

    @classmethod
    def over(cls, db: Repository) -> Season:
        pool = db.pool
        return cls(EventRows(pool), Coupons(pool), Tokens(pool), AuditLog(pool))


def required(season: Season | None) -> Season:
    """The season's tables, or 503: this worker was started without a database."""
    if season is None:
        raise NoDatabase("This route needs the database (COUPONRUSH_DATABASE_URL).")
    return season
