"""An event's Redis meta hash as a coupons row, and back (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from couponrush.db.repo import CouponRow


def _at(ms: str | None) -> datetime | None:
    return datetime.fromtimestamp(int(ms) / 1000, UTC) if ms else None


def _ms(at: datetime | None) -> str:
    return "" if at is None else str(int(at.timestamp() * 1000))


def coupon_from_meta(event_id: str, meta: Mapping[str, str]) -> CouponRow | None:
    """None when the hash is empty or broken (the event is unknown to Redis)."""
    try:
        total = int(meta["total"])
    except (KeyError, ValueError):
        return None
    return CouponRow(event_id, meta.get("name") or event_id, total,
                     _at(meta.get("starts_at")), _at(meta.get("ends_at")))  # fmt: skip


def meta_from_coupon(row: CouponRow, created_at_ms: int) -> dict[str, str]:
    """The fields create_event.lua writes, for a restore from the database."""
    return {"total": str(row.total_stock), "starts_at": _ms(row.starts_at),
            "ends_at": _ms(row.ends_at), "name": row.name,
            "created_at": str(created_at_ms)}  # fmt: skip
