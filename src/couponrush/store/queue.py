"""A shuffled opening's queue in Redis: joining it, a member's place, the queue's state
for everyone, and the published order (each through queue.lua, one atomic step, except
the order, which only grows at its end once the seed is out)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from couponrush.core.admission import QueueSnapshot
from couponrush.core.errors import EventNotFound, NoQueue
from couponrush.core.event import meta_ms, opening_of
from couponrush.core.queue import prequeue_member, ticket, ticket_of
from couponrush.store.client import RedisClient, translated
from couponrush.store.keys import event_keys
from couponrush.store.scripts import Scripts, run

_CHUNK = 10_000
# queue.lua's reply after the outcome, position, size, now, total and stock.
_FIELDS = (
    "starts_at",
    "ends_at",
    "created_at",
    "prequeue_opens_at",
    "admit_wave",
    "admit_every_ms",
    "proof_bits",
    "commitment",
    "seed",
)


@dataclass(frozen=True, slots=True)
class Place:
    """What queue.lua answered: its outcome (see the script), the user's position (0: not
    in the queue) and the queue's state."""

    outcome: str
    position: int
    state: QueueSnapshot


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _state(event_id: str, reply: list[Any]) -> QueueSnapshot:
    meta = dict(zip(_FIELDS, (_text(v) for v in reply[6:]), strict=True))
    starts, created = meta_ms(meta["starts_at"]), meta_ms(meta["created_at"])
    return QueueSnapshot(
        event_id=event_id,
        opening=opening_of({**meta, "opening": "shuffled"}),
        now_ms=int(reply[3]),
        opened_ms=starts if starts is not None else created or 0,
        ends_at_ms=meta_ms(meta["ends_at"]),
        total=int(reply[4]),
        stock=int(reply[5]),
        size=int(reply[2]),
        commitment=meta["commitment"],
        seed=meta["seed"],
    )


class QueueStore:
    def __init__(self, redis: RedisClient, scripts: Scripts) -> None:
        self._redis = redis
        self._scripts = scripts
        # event -> its seed: set once, never changed (amend_event.lua keeps it), so read once
        self._seeds: dict[str, str] = {}

    async def join(self, event_id: str, user_id: str, proof: str) -> Place:
        seed = await self._seed(event_id)
        entry = ticket(event_id, user_id)
        member = prequeue_member(seed, entry) if seed else entry
        return await self._run(event_id, "join", user_id, member, entry, proof)

    async def place(self, event_id: str, user_id: str) -> Place:
        return await self._run(event_id, "place", user_id)

    async def state(self, event_id: str) -> QueueSnapshot:
        return (await self._run(event_id, "place", "")).state

    async def order(self, event_id: str) -> tuple[QueueSnapshot, list[str], list[str]]:
        """The state, then the tickets in the order served: the pre-queue's, then those of
        who joined after the opening. Read after the opening, when the pre-queue no longer
        changes and the rest only grows at its end, so reading in chunks is consistent."""
        state = await self.state(event_id)
        key = event_keys(event_id).queue
        prequeue: list[str] = []
        late: list[str] = []
        with translated():
            for start in range(0, state.size, _CHUNK):
                found: Any = await self._redis.zrange(
                    key, start, start + _CHUNK - 1, withscores=True
                )
                for member, score in found:
                    (late if score else prequeue).append(ticket_of(_text(member)))
        return state, prequeue, late

    async def _seed(self, event_id: str) -> str:
        seed = self._seeds.get(event_id)
        if seed is None:
            with translated():
                found: Any = await self._redis.hget(event_keys(event_id).meta, "seed")
            seed = _text(found) if found else ""
            if seed:
                self._seeds[event_id] = seed
        return seed

    async def _run(self, event_id: str, *args: str) -> Place:
        keys = event_keys(event_id).issue_keys
        with translated():
            reply: Any = await run(self._redis, self._scripts, self._scripts.queue, keys, args)
        outcome = _text(reply[0])
        if outcome == "NOT_FOUND":
            raise EventNotFound(event_id)
        if outcome == "NO_QUEUE":
            raise NoQueue(event_id)
        return Place(outcome, int(reply[1]), _state(event_id, reply))
