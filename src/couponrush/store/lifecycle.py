"""The Redis side of an event's lifecycle: amend (rename, move the window, top up), close
and archive, each one atomic step of amend_event.lua.

A top-up can re-open a sold-out event, so it waits behind the fence (store.frozen): no
gateway or app cache answers "sold out" from before it once the new stock is there. Any
write that can bring new wins puts the event back in the live index after it wrote.
"""

from __future__ import annotations

import secrets
from typing import Any

from couponrush.core.errors import EventNotFound, Refused
from couponrush.core.event import Event, from_ms, meta_ms, opening_of
from couponrush.core.queue import SEED_BYTES
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
    "QUEUE_OPEN": (
        "already_started",
        "The pre-queue or the sale has opened: the opening and its admission no longer change.",
    ),
    "PREQUEUE": ("invalid", "prequeue_opens_at must be before starts_at."),
}
_OPENING_FIELDS = ("opening", "prequeue_opens_at", "admit_wave", "admit_every_ms", "proof_bits")


class Lifecycle:
    def __init__(self, redis: RedisClient, scripts: Scripts, fence: Fence) -> None:
        self._redis = redis
        self._scripts = scripts
        self._fence = fence

    async def amend(self, event_id: str, change: Amendment) -> Event:
        args = await self._args(event_id, change)
        if change.total_stock is not None and change.total_stock > await self._total(event_id):
            async with self._fence.held(event_id):
                event = await self._run(event_id, "amend", *args)
        else:
            event = await self._run(event_id, "amend", *args)
        await live.enlist(self._redis, event_id)
        return event

    async def _args(self, event_id: str, change: Amendment) -> tuple[str, ...]:
        """The script's arguments: the opening the change leads to, read over the event's
        (the caller holds the event's row lock, so no other change comes in between), and a
        seed in case it has none yet."""
        if not change.opening:
            return change.script_args()
        meta: Any = await self._redis.hgetall(event_keys(event_id).meta)
        if not meta:
            raise EventNotFound(event_id)
        return change.script_args(
            change.reopening(opening_of(meta)), secrets.token_bytes(SEED_BYTES).hex()
        )

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
        argv = (op, *(args or Amendment().script_args()))
        reply: Any = await run(self._redis, self._scripts, self._scripts.amend_event, keys, argv)
        outcome = str(reply[0])
        if outcome == "NOT_FOUND":
            raise EventNotFound(event_id)
        if outcome != "OK":
            result, detail = _REFUSALS[outcome]
            raise Refused(result, detail.format(*reply[1:]))
        total, starts, ends, name = reply[1:5]
        opening = dict(zip(_OPENING_FIELDS, (str(v) for v in reply[5:10]), strict=True))
        return Event(
            event_id,
            str(name),
            int(total),
            from_ms(meta_ms(str(starts))),
            from_ms(meta_ms(str(ends))),
            opening_of(opening),
            str(reply[10]),
        )
