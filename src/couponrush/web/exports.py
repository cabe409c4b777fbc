"""An event's winners as CSV (with a header row) or JSON Lines, encoded chunk by chunk as
the rows come from the database's cursor."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterable, AsyncIterator
from datetime import datetime
from typing import Literal

import orjson

from couponrush.core.coupon import Coupon

Format = Literal["csv", "jsonl"]
FORMATS: dict[Format, str] = {"csv": "text/csv", "jsonl": "application/x-ndjson"}
FIELDS = (
    "user_id",
    "slot",
    "coupon_code",
    "issued_at",
    "state",
    "order_id",
    "redeemed_at",
    "revoked_at",
)


def _when(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat().replace("+00:00", "Z")


def _record(c: Coupon) -> tuple[object, ...]:
    return (
        c.user_id,
        c.slot,
        c.coupon_code,
        _when(c.issued_at),
        c.state,
        c.order_id,
        _when(c.redeemed_at),
        _when(c.revoked_at),
    )


def _csv(rows: list[tuple[object, ...]]) -> bytes:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(
        [["" if v is None else v for v in row] for row in rows]
    )
    return out.getvalue().encode()


def _jsonl(rows: list[tuple[object, ...]]) -> bytes:
    return b"".join(orjson.dumps(dict(zip(FIELDS, row, strict=True))) + b"\n" for row in rows)


async def lines(chunks: AsyncIterable[list[Coupon]], fmt: Format) -> AsyncIterator[bytes]:
    """The export's bytes: the CSV header first, then one encoded chunk per batch."""
    encode = _csv if fmt == "csv" else _jsonl
    if fmt == "csv":
        yield _csv([FIELDS])
    async for chunk in chunks:
        yield encode([_record(c) for c in chunk])
