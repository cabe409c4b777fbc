"""Event state in Redis: set-up, the read model, winners, and rebuilding after data loss."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.exceptions import WatchError

from couponrush.core.event import (
    Event,
    EventView,
    event_from_meta,
    meta_of,
    meta_text,
    opening_meta,
    view_of,
)
from couponrush.core.ports import Winners
from couponrush.core.reconcile import Held, Merged, expected_stock, merge
from couponrush.store import live
from couponrush.store.client import RedisClient
from couponrush.store.keys import decode_participant, encode_participant, event_keys
from couponrush.store.scripts import Scripts, run

_CHUNK = 1000
_WATCH_TRIES = 100


@dataclass(frozen=True, slots=True)
class Restored:
    winners: int
    # Slots Redis held that the database and the pipeline did not (a --force restore).
    kept_from_redis: int
    highest_slot: int
    stock: int
    conflicts: list[str]


def _now_ms() -> int:
    return int(time.time() * 1000)


class EventStore:
    def __init__(self, redis: RedisClient, scripts: Scripts) -> None:
        self._redis = redis
        self._scripts = scripts

    async def create(self, event: Event) -> int | None:
        """Set up the event's keys: when it was created (ms), or None when any of them
        exists already.

        The event enters the live index first (the index lives in another Cluster slot),
        so the sweeps know it before its first win; an entry whose create then failed
        leaves the index by itself (store.live.retire)."""
        keys = event_keys(event.event_id)
        created_at = _now_ms()
        await live.enlist(self._redis, event.event_id, created_at)
        args: tuple[object, ...] = (
            event.total_stock,
            meta_text(event.starts_at),
            meta_text(event.ends_at),
            event.name,
            created_at,
        )
        if event.opening.shuffled:
            args += tuple(opening_meta(event.opening, event.seed).values())
        script = self._scripts.create_event
        reply = await run(self._redis, self._scripts, script, keys.script_keys, args)
        return created_at if reply == "CREATED" else None

    async def get(self, event_id: str) -> EventView | None:
        keys = event_keys(event_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(keys.meta)
            pipe.get(keys.stock)
            pipe.hlen(keys.participants)
            meta, stock, issued = await pipe.execute()
        return view_of(event_id, meta, stock, issued, await self.now_ms())

    async def now_ms(self) -> int:
        """Redis's clock, as issue.lua's window uses it; a command of its own, since a
        Cluster transaction takes only commands on the event's slot."""
        sec, usec = await self._redis.time()
        return int(sec) * 1000 + int(usec) // 1000

    async def views(self, event_ids: Sequence[str]) -> dict[str, EventView]:
        """The live views of several events in one round trip (those Redis holds)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for event_id in event_ids:
                keys = event_keys(event_id)
                pipe.hgetall(keys.meta)
                pipe.get(keys.stock)
                pipe.hlen(keys.participants)
            replies: list[Any] = await pipe.execute()
        now = await self.now_ms()
        found = (
            view_of(e, replies[3 * i], replies[3 * i + 1], replies[3 * i + 2], now)
            for i, e in enumerate(event_ids)
        )
        return {v.event_id: v for v in found if v is not None}

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

    async def restore(
        self,
        event: Event,
        persisted: Sequence[Held],
        queued: Sequence[Held],
        archived: bool = False,
    ) -> Restored:
        """Replace the event's state in one transaction: its meta, winners and counter,
        from the wins the database holds, those on their way (``queued``) and those Redis
        still holds; the counter resumes after the highest slot of any of them. A win that
        lands meanwhile makes the transaction start over with it. The event is live again
        afterwards."""
        keys = event_keys(event.event_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            for _ in range(_WATCH_TRIES):
                try:
                    found, stock = await _rewrite(pipe, event, persisted, queued, archived)
                    break
                except WatchError:
                    continue
            else:
                raise RuntimeError("the event kept changing; run restore again")
        await live.enlist(self._redis, keys.event_id)
        kept = len(set(found.winners) - {u for u, _, _ in (*persisted, *queued)})
        return Restored(
            len(found.winners), kept, max(found.slots, default=0), stock, found.conflicts
        )

    async def fix_stock(self, event_id: str, total: int) -> int:
        """Set the counter from the winners, atomically against concurrent issues."""
        keys = event_keys(event_id)
        async with self._redis.pipeline(transaction=True) as pipe:
            for _ in range(_WATCH_TRIES):
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


async def _rewrite(
    pipe: Any, event: Event, persisted: Sequence[Held], queued: Sequence[Held], archived: bool
) -> tuple[Merged, int]:
    """Under WATCH: read what Redis holds, merge it with the others, write it all back."""
    keys = event_keys(event.event_id)
    await pipe.watch(keys.participants, keys.stock, keys.meta)
    raw: Any = await pipe.hgetall(keys.participants)
    found = merge(persisted, queued, [(u, *decode_participant(v)) for u, v in raw.items()])
    stock = expected_stock(event.total_stock, sorted(found.slots))
    pipe.multi()
    pipe.delete(keys.participants)
    users = list(found.winners)
    for start in range(0, len(users), _CHUNK):
        chunk = {u: encode_participant(*found.winners[u]) for u in users[start : start + _CHUNK]}
        pipe.hset(keys.participants, mapping=chunk)
    pipe.hset(keys.meta, mapping=meta_of(event, _now_ms(), archived))
    pipe.set(keys.stock, stock)
    await pipe.execute()
    return found, stock
