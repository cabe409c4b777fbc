"""The Redis side of an event's lifecycle: amend (rename, move the window, top up), close
and archive, each one atomic step of amend_event.lua.

A top-up can re-open a sold-out event, so it waits behind the fence (store.frozen): no
gateway or app cache answers "sold out" from before it once the new stock is there. Any
write that can bring new wins puts the event back in the live index after it wrote.
"""

from __future__ import annotations

from typing import Any

from couponrush.core.errors import EventNotFound, Refused
from couponrush.core.event import Event, from_ms, meta_ms
from couponrush.core.season import Amendment
from couponrush.store import live
from couponrush.store.client import RedisClient
from couponrush.store.frozen import Fence
from couponrush.store.keys import event_keys
from couponrush.store.scripts import Scripts, run

_REFUSALS = {
    "ARCHIVED": ("archived", "The event is archived: it no longer changes."),
    "STARTED": ("already_started", "The event has opened: its starts_at no longer changes."),
    "LOWERED": ("stock_lowered", "total_stock only goes up (a top-up); it is {0} now."),
    "PAST": ("invalid", "ends_at must lie in the future; POST .../close ends a sale now."),
    "WINDOW": ("invalid", "ends_at must be after starts_at."),
    "NOT_FINISHED": ("not_finished", "Only a finished event (closed or sold out) is archived."),
}


class Lifecycle:
    def __init__(self, redis: RedisClient, scripts: Scripts, fence: Fence) -> None:
        self._redis = redis
        self._scripts = scripts
        self._fence = fence

    async def amend(self, event_id: str, change: Amendment) -> Event:
        if change.total_stock is not None and change.total_stock > await self._total(event_id):
            async with self._fence.held(event_id):
                event = await self._run(event_id, "amend", *change.script_args())
        else:
            event = await self._run(event_id, "amend", *change.script_args())
        await live.enlist(self._redis, event_id)
        return event

    async def close(self, event_id: str) -> Event:
        return await self._run(event_id, "close")

    async def archive(self, event_id: str) -> Event:
        """Marks the event archived; it leaves the live index once its outbox is drained
        (store.live.retire), so no win is left behind."""
        return await self._run(event_id, "archive")

    async def _total(self, event_id: str) -> int:
        total: Any = await self._redis.hget(event_keys(event_id).meta, "total")
        if total is None:
            raise EventNotFound(event_id)
        return int(total)

    async def _run(self, event_id: str, op: str, *args: str) -> Event:
        keys = event_keys(event_id).script_keys
        argv = (op, *(args or ("~", "~", "~", "~")))
        reply: Any = await run(self._redis, self._scripts, self._scripts.amend_event, keys, argv)
        outcome = str(reply[0])
        if outcome == "NOT_FOUND":
            raise EventNotFound(event_id)
        if outcome != "OK":
            result, detail = _REFUSALS[outcome]
            raise Refused(result, detail.format(*reply[1:]))
        total, starts, ends, name = reply[1:]
        return Event(
            event_id,
            str(name),
            int(total),
            from_ms(meta_ms(str(starts))),
            from_ms(meta_ms(str(ends))),
        )
