"""The rules of a season of sales, as pure functions: when an event stops being live (and
leaves the sweeps, the feed and the metrics), what a create's definition is, and the
opaque cursors of the paged lists."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from datetime import datetime

from couponrush.core.event import Event, meta_text, to_ms


@dataclass(frozen=True, slots=True)
class Liveness:
    """What the live index's housekeeping reads of one event (see ``retirable``)."""

    has_meta: bool
    archived: bool
    ends_at_ms: int | None
    stock: int | None
    # The time of the event's last win: its outbox's last entry id (kept after trimming).
    last_win_ms: int | None
    # Every consumer group of the outbox has read and acknowledged every entry (or the
    # event has no outbox: no win yet).
    drained: bool


def finished_at(ends_at_ms: int | None, stock: int | None, last_win_ms: int | None) -> int | None:
    """When issuing stopped for good: the end of the window, or the last win of a sold-out
    event, whichever came first; None while neither happened."""
    found = [ends_at_ms] if ends_at_ms is not None else []
    if stock is not None and stock <= 0 and last_win_ms is not None:
        found.append(last_win_ms)
    return min(found, default=None)


def retirable(state: Liveness, now_ms: int, linger_ms: int, listed_ms: int) -> bool:
    """Whether an event may leave the live index: its outbox drained, and it was archived,
    or finished at least ``linger_ms`` ago. An entry with no event behind it (a create
    that failed half-way) goes after ``linger_ms`` from when it was listed."""
    if not state.drained:
        return False
    if not state.has_meta:
        return now_ms - listed_ms >= linger_ms
    if state.archived:
        return True
    done = finished_at(state.ends_at_ms, state.stock, state.last_win_ms)
    return done is not None and now_ms - done >= linger_ms


def definition(event: Event) -> str:
    """A create request's definition as canonical text: a repeated create with the same
    text is the same request (200), any other is a conflict (409)."""
    return json.dumps(
        {
            "name": event.name,
            "total_stock": event.total_stock,
            "starts_at_ms": to_ms(event.starts_at),
            "ends_at_ms": to_ms(event.ends_at),
        },
        sort_keys=True,
        separators=(",", ":"),
    )


KEEP = "~"


@dataclass(frozen=True, slots=True)
class Amendment:
    """What a PATCH changes. Only the fields named in ``given`` change; a time given as
    None means none (starts_at: open now, ends_at: never closes)."""

    name: str | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    total_stock: int | None = None
    given: frozenset[str] = field(default_factory=frozenset)

    def script_args(self) -> tuple[str, str, str, str]:
        """name, starts_at, ends_at, total as amend_event.lua takes them (KEEP = unchanged)."""
        return (
            self.name or "" if "name" in self.given else KEEP,
            meta_text(self.starts_at) if "starts_at" in self.given else KEEP,
            meta_text(self.ends_at) if "ends_at" in self.given else KEEP,
            str(self.total_stock) if "total_stock" in self.given else KEEP,
        )


class BadCursor(ValueError):
    """A cursor this API did not give."""


def encode_cursor(position: int, key: str = "") -> str:
    """A position in a list (a time in microseconds or a row id, and a tie-breaker)."""
    return base64.urlsafe_b64encode(f"{position}:{key}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        position, sep, key = raw.partition(":")
        if not sep:
            raise BadCursor(cursor)
        return int(position), key
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadCursor(cursor) from exc
