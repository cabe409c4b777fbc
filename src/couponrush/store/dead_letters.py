"""Dead letters: a Redis stream of messages that will not go through unaided.

Each entry keeps the reason, the original payload and the attempts, so an operator can
read it, fix the cause and replay it. An entry leaves the stream only by a replay that
wrote its win, or by an explicit delete.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from couponrush.core.letters import DeadLetter, Letter
from couponrush.store.client import RedisClient
from couponrush.store.keys import DLQ


def _from_entry(entry_id: str, fields: dict[str, str]) -> DeadLetter:
    try:
        payload = orjson.loads(fields.get("payload", "{}"))
    except orjson.JSONDecodeError:
        payload = {"raw": fields.get("payload", "")}
    return DeadLetter(
        id=entry_id,
        event_id=fields.get("event_id", ""),
        payload=payload,
        kind=fields.get("kind", ""),
        reason=fields.get("reason", ""),
        attempts=int(fields.get("attempts", "0") or 0),
        source=fields.get("source", ""),
        failed_at_ms=int(fields.get("failed_at", "0") or 0),
    )


class DeadLetters:
    def __init__(self, redis: RedisClient) -> None:
        self._redis = redis

    async def put(self, letter: Letter) -> str:
        fields = {
            "event_id": letter.event_id,
            "payload": orjson.dumps(letter.payload).decode(),
            "kind": letter.kind,
            "reason": letter.reason,
            "attempts": str(letter.attempts),
            "source": letter.source,
            "failed_at": str(int(time.time() * 1000)),
        }
        entry_id: Any = await self._redis.xadd(DLQ, fields)  # type: ignore[arg-type]
        return str(entry_id)

    async def list(self, count: int = 100, start: str = "-") -> list[DeadLetter]:
        entries: Any = await self._redis.xrange(DLQ, min=start, max="+", count=count)
        return [_from_entry(eid, fields) for eid, fields in entries]

    async def get(self, entry_id: str) -> DeadLetter | None:
        entries: Any = await self._redis.xrange(DLQ, min=entry_id, max=entry_id, count=1)
        return _from_entry(*entries[0]) if entries else None

    async def delete(self, entry_id: str) -> None:
        await self._redis.xdel(DLQ, entry_id)
