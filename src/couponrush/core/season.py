"""The rules of a season of sales, as pure functions: when an event stops being live (and
leaves the sweeps, the feed and the metrics), what a create's definition is, and the
opaque cursors of the paged lists."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from couponrush.core.errors import Refused
from couponrush.core.event import Event, meta_text, opening_meta, to_ms
from couponrush.core.queue import Opening


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
    defined: dict[str, Any] = {
        "name": event.name,
        "total_stock": event.total_stock,
        "starts_at_ms": to_ms(event.starts_at),
        "ends_at_ms": to_ms(event.ends_at),
    }
    if event.opening.shuffled:  # a first-come-first-served definition reads as it always did
        defined["opening"] = {k: v for k, v in opening_meta(event.opening, "").items() if v}
    return json.dumps(defined, sort_keys=True, separators=(",", ":"))


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
    # The opening's fields given (Opening's names), to lay over the event's opening.
    opening: dict[str, Any] = field(default_factory=dict)

    def script_args(self, opening: Opening | None = None, seed: str = "") -> tuple[str, ...]:
        """name, starts_at, ends_at, total, then the opening's fields (core.event's
        opening_meta), as amend_event.lua takes them (KEEP = unchanged). ``opening``: the
        opening after the change (None: unchanged); ``seed``: one for an event that has
        none yet."""
        head = (
            self.name or "" if "name" in self.given else KEEP,
            meta_text(self.starts_at) if "starts_at" in self.given else KEEP,
            meta_text(self.ends_at) if "ends_at" in self.given else KEEP,
            str(self.total_stock) if "total_stock" in self.given else KEEP,
        )
        if opening is None:
            return (*head, *[KEEP] * 7)
        return (*head, *opening_meta(opening, seed).values())

    def reopening(self, current: Opening) -> Opening | None:
        """The event's opening with this change laid over it; None when it names none."""
        if not self.opening:
            return None
        changed = replace(current, **self.opening)
        if changed.shuffled:
            return changed
        extra = [k for k, v in self.opening.items() if k != "mode" and v not in (None, 0)]
        if extra:
            name = extra[0].replace("_ms", "_s")  # the API's name of the field
            raise Refused("invalid", f"{name} is only for a shuffled opening")
        return Opening()  # first come, first served: nothing else holds


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
