"""Setting up and reading events: the database row first, then Redis."""

from __future__ import annotations

from couponrush.core.errors import EventExists
from couponrush.core.event import Event, EventView
from couponrush.db.repository import Repository
from couponrush.store.events import EventStore


class EventService:
    def __init__(self, store: EventStore, db: Repository | None) -> None:
        self.store = store
        self._db = db

    async def create(self, event: Event) -> None:
        """The coupons row first, then Redis: wins can only exist for an event the database
        knows. A crash between leaves a row without Redis state, which a retried create
        (same values) or ``restore`` mends; different values for the id are a conflict."""
        if self._db is not None:
            await self._db.create_event(event)
        if not await self.store.create(event):
            raise EventExists(event.event_id)

    async def get(self, event_id: str) -> EventView | None:
        return await self.store.get(event_id)

    async def issuance(self, event_id: str, user_id: str) -> tuple[int, int] | None:
        return await self.store.issuance(event_id, user_id)

    async def ping(self) -> bool:
        return await self.store.ping()
