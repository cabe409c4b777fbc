"""An event's lifecycle as the operator drives it: amend (rename, move the window, top
up), close and archive. Each holds the event's row lock while Redis changes, writes the
row and the audit record in the same transaction, and answers with the live view.

Redis first, the row second, one transaction around both: a Redis step that fails rolls
the row back (the answer is 503 and nothing changed); every step is idempotent, so the
retry of a request whose commit failed finishes it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from couponrush.core.errors import EventNotFound, Refused
from couponrush.core.event import Event, EventView
from couponrush.core.season import Amendment
from couponrush.db.access import AuditRecord
from couponrush.db.events import EventRows
from couponrush.store.events import EventStore
from couponrush.store.lifecycle import Lifecycle


class LifecycleService:
    def __init__(
        self, lifecycle: Lifecycle, rows: EventRows, store: EventStore, gate: asyncio.Semaphore
    ) -> None:
        self._lifecycle = lifecycle
        self._rows = rows
        self._store = store
        self._gate = gate

    async def amend(self, event_id: str, change: Amendment, audit: AuditRecord) -> EventView:
        return await self._change(
            event_id, lambda: self._lifecycle.amend(event_id, change), audit, archiving=False
        )

    async def close(self, event_id: str, audit: AuditRecord) -> EventView:
        return await self._change(
            event_id, lambda: self._lifecycle.close(event_id), audit, archiving=False
        )

    async def archive(self, event_id: str, audit: AuditRecord) -> EventView:
        return await self._change(
            event_id, lambda: self._lifecycle.archive(event_id), audit, archiving=True
        )

    async def _change(
        self,
        event_id: str,
        step: Callable[[], Awaitable[Event]],
        audit: AuditRecord,
        archiving: bool,
    ) -> EventView:
        refused: Refused | None = None
        async with self._gate, self._rows.changing(event_id) as change:
            if change.row is None:
                raise EventNotFound(event_id)
            archived = change.row.archived_at is not None
            try:
                if archived and not archiving:
                    raise Refused("archived", "The event is archived: it no longer changes.")
                event = await step()
            except Refused as exc:
                refused = exc
                await change.audit(audit.ended(status_of(exc), exc.result))
            else:
                await change.save(event, archived or archiving)
                await change.audit(audit.ended(200, "ok"))
        if refused is not None:
            raise refused
        view = await self._store.get(event_id)
        if view is None:  # Redis lost the event just now
            raise EventNotFound(event_id)
        return view


def status_of(refused: Refused) -> int:
    """A refusal's status: 422 for a value no state would take, else 409."""
    return 422 if refused.result == "invalid" else 409
