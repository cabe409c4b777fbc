"""Setting up, reading and listing events: the database row first, then Redis."""

from __future__ import annotations

import contextlib
import dataclasses
import secrets
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from couponrush.core.errors import EventExists
from couponrush.core.event import Event, EventStatus, EventView, from_record, to_ms
from couponrush.core.queue import SEED_BYTES, commitment
from couponrush.core.season import BadCursor, decode_cursor, encode_cursor
from couponrush.db.events import EventRow, EventRows
from couponrush.db.repository import Repository
from couponrush.store.events import EventStore

# Rows one list request reads at most while it looks for a page of open or sold-out
# events (the stock in Redis tells those apart); past them it answers a shorter page and
# a cursor to go on from.
_SCAN_PAGES = 10
_EPOCH = datetime.fromtimestamp(0, UTC)
_MICROSECOND = timedelta(microseconds=1)


class EventService:
    def __init__(self, store: EventStore, db: Repository | None) -> None:
        self.store = store
        self._db = db

    async def create(self, event: Event) -> tuple[EventView, bool]:
        """The event's view and whether this call created it (False: the same definition
        was created before, which is not an error).

        The coupons row first, then Redis: wins can only exist for an event the database
        knows. A row this call wrote is taken back when the Redis step fails, so a 503
        leaves nothing behind; a different definition under the id raises EventExists."""
        if event.opening.shuffled and not event.seed:
            event = dataclasses.replace(event, seed=secrets.token_bytes(SEED_BYTES).hex())
        wrote = self._db is not None and await self._db.create_event(event)
        try:
            created_at = await self.store.create(event)
            # Redis held the event before the database did (or there is no database).
            unknown_to_db = self._db is None or wrote
            if created_at is None and unknown_to_db and not await self._same(event):
                raise EventExists(event.event_id)
        except BaseException:
            if wrote:
                await self._forget(event.event_id)
            raise
        if created_at is None:
            view = await self.store.get(event.event_id)
            if view is not None:
                return view, False
        return _new_view(event, created_at), True

    async def _same(self, event: Event) -> bool:
        return await self.store.definition(event.event_id) == event

    async def _forget(self, event_id: str) -> None:
        assert self._db is not None
        # Best effort: a row left behind is mended by the retry, which finds it the same.
        with contextlib.suppress(Exception):
            await self._db.forget_event(event_id)

    async def get(self, event_id: str) -> EventView | None:
        return await self.store.get(event_id)

    async def issuance(self, event_id: str, user_id: str) -> tuple[int, int] | None:
        return await self.store.issuance(event_id, user_id)

    async def ping(self) -> bool:
        return await self.store.ping()

    async def page(
        self, rows: EventRows, statuses: Sequence[EventStatus], cursor: str | None, limit: int
    ) -> tuple[list[EventView], str | None]:
        """Events newest first, ``limit`` at most, after ``cursor``; the cursor of the next
        page, None after the last. Raises core.season.BadCursor."""
        after = _position(cursor)
        now = await self.store.now_ms()
        found: list[EventView] = []
        for _ in range(_SCAN_PAGES):
            batch = await rows.page(statuses, _EPOCH + timedelta(milliseconds=now), after, limit)
            for row, view in zip(batch, await self.views(rows, batch, now), strict=True):
                after = (row.created_at, row.event_id)
                if not statuses or view.status in statuses:
                    found.append(view)
                    if len(found) == limit:
                        return found, _cursor(after)
            if len(batch) < limit:
                return found, None
        return found, _cursor(after)

    async def views(
        self, rows: EventRows, batch: Sequence[EventRow], now_ms: int
    ) -> list[EventView]:
        """Each row's live view: from Redis, or from the row and its winner count when
        Redis no longer holds the event."""
        live = await self.store.views([r.event_id for r in batch])
        missing = [r.event_id for r in batch if r.event_id not in live]
        counts = await rows.winner_counts(missing) if missing else {}
        return [
            live.get(r.event_id) or _row_view(r, counts.get(r.event_id, 0), now_ms) for r in batch
        ]


def _new_view(event: Event, created_at_ms: int | None) -> EventView:
    now = int(time.time() * 1000)
    return EventView(
        event.event_id,
        event.name,
        event.total_stock,
        event.total_stock,
        0,
        to_ms(event.starts_at),
        to_ms(event.ends_at),
        now,
        created_at_ms,
        opening=event.opening,
        commitment=commitment(event.seed) if event.seed else "",
        seed=event.seed,
    )


def _row_view(row: EventRow, issued: int, now_ms: int) -> EventView:
    opening, seed = from_record(row.opening)
    return EventView(
        row.event_id,
        row.name,
        row.total_stock,
        max(0, row.total_stock - issued),
        issued,
        to_ms(row.starts_at),
        to_ms(row.ends_at),
        now_ms,
        to_ms(row.created_at),
        archived=row.archived_at is not None,
        opening=opening,
        commitment=commitment(seed) if seed else "",
        seed=seed,
    )


def _position(cursor: str | None) -> tuple[datetime, str] | None:
    """(created_at, id) of the last event of the page before: exact to the microsecond."""
    if cursor is None:
        return None
    micros, event_id = decode_cursor(cursor)
    try:
        return _EPOCH + micros * _MICROSECOND, event_id
    except OverflowError as exc:
        raise BadCursor(cursor) from exc


def _cursor(after: tuple[datetime, str] | None) -> str | None:
    if after is None:
        return None
    at, event_id = after
    return encode_cursor((at - _EPOCH) // _MICROSECOND, event_id)
