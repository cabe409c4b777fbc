"""Event state in Redis: set-up, the read model, winners, and rebuilding after data loss."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from redis.exceptions import WatchError

from couponrush.core.event import Event, EventView, event_from_meta, meta_ms, meta_of, meta_text
from couponrush.core.ports import Winners
from couponrush.core.reconcile import expected_stock
from couponrush.store.client import RedisClient
from couponrush.store.keys import EVENTS, decode_participant, encode_participant, event_keys
from couponrush.store.scripts import Scripts, run

# (user_id, slot, issued_at_ms) of each winner the database holds
PersistedWin = tuple[str, int, int]


def _now_ms() -> int:
    return int(time.time() * 1000)


class EventStore:
    def __init__(self, redis: RedisClient, scripts: Scripts) -> None:
        self._redis = redis
        self._scripts = scripts

    async def create(self, event: Event) -> bool:
        """Set up the event's keys; False when any of them exists already."""
        keys = event_keys(event.event_id)
        args = (event.total_stock, meta_text(event.starts_at), meta_text(event.ends_at),
                event.name, _now_ms())  # fmt: skip
        script = self._scripts.create_event
        reply = await run(self._redis, self._scripts, script, keys.script_keys, args)
        # The registry set lives outside the event's hash slot, so it is a second step;
        # SADD is idempotent and runs on a refused create too, which mends a crash between.
        await self._redis.sadd(EVENTS, event.event_id)
        return reply == "CREATED"

    async def get(self, event_id: str) -> EventView | None:
        keys = event_keys(event_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(keys.meta)
            pipe.get(keys.stock)
            pipe.hlen(keys.participants)
            meta, stock, issued = await pipe.execute()
        # Redis's clock, as issue.lua's window uses it; a command of its own, since a
        # Cluster transaction takes only commands on the event's slot.
        sec, usec = await self._redis.time()
        if not meta:
            return None
        return EventView(
            event_id=event_id,
            name=meta.get("name", ""),
            total_stock=int(meta["total"]),
            remaining=max(0, int(stock or 0)),
            issued=int(issued),
            starts_at_ms=meta_ms(meta.get("starts_at")),
            ends_at_ms=meta_ms(meta.get("ends_at")),
            now_ms=int(sec) * 1000 + int(usec) // 1000,
        )

    async def definition(self, event_id: str) -> Event | None:
        meta: Any = await self._redis.hgetall(event_keys(event_id).meta)
        return event_from_meta(event_id, meta)

    async def issuance(self, event_id: str, user_id: str) -> tuple[int, int] | None:
        value = await self._redis.hget(event_keys(event_id).participants, user_id)
        return None if value is None else decode_participant(value)

    async def winners(self, event_id: str) -> tuple[Winners, int | None]:
        """Every winner (user -> (slot, issued_at_ms)) and the stock counter, at one moment."""
        keys = event_keys(event_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(keys.participants)
            pipe.get(keys.stock)
            raw, stock = await pipe.execute()
        found = {user: decode_participant(value) for user, value in raw.items()}
        return found, None if stock is None else int(stock)

    async def ping(self) -> bool:
        return bool(await self._redis.ping())

    async def holds(self, event_id: str) -> bool:
        keys = event_keys(event_id)
        return bool(await self._redis.exists(keys.meta, keys.stock, keys.participants))

    async def restore(self, event: Event, wins: Sequence[PersistedWin], stock: int) -> None:
        """Replace the event's state in one transaction: its meta, winners and counter."""
        keys = event_keys(event.event_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(keys.participants, keys.stock, keys.meta)
            for start in range(0, len(wins), 1000):
                chunk = wins[start : start + 1000]
                pipe.hset(keys.participants, mapping={
                    user: encode_participant(slot, at) for user, slot, at in chunk})  # fmt: skip
            meta: Any = meta_of(event, _now_ms())
            pipe.hset(keys.meta, mapping=meta)
            pipe.set(keys.stock, stock)
            await pipe.execute()
        await self._redis.sadd(EVENTS, event.event_id)

    async def fix_stock(self, event_id: str, total: int) -> int:
        """Set the counter from the winners, atomically against concurrent issues."""
        keys = event_keys(event_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            for _ in range(100):
                try:
                    await pipe.watch(keys.stock, keys.participants)
                    raw: Any = await pipe.hvals(keys.participants)
                    stock = expected_stock(total, [decode_participant(v)[0] for v in raw])
                    pipe.multi()  # type: ignore[no-untyped-call]
                    pipe.set(keys.stock, stock)
                    await pipe.execute()
                    return stock
                except WatchError:
                    continue
        raise RuntimeError("stock counter kept changing; run reconcile again")
