"""Per-worker cache of sold-out events and their winners.

Once an event has sold out its Redis state is frozen, so a worker that has seen
SOLD_OUT loads the winners (at most total_stock entries) once and answers every later
request for that event locally: a winner gets its coupon back, anyone else "sold out".
"""

from __future__ import annotations

import asyncio

import structlog

from couponrush.core.errors import RetryableError
from couponrush.core.ports import FrozenWinners, Winners

log = structlog.get_logger(__name__)


class SoldOutCache:
    def __init__(self, source: FrozenWinners, timeout_s: float) -> None:
        self._source = source
        self._timeout_s = timeout_s
        self._winners: dict[str, Winners] = {}
        self._loading: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def winners(self, event_id: str) -> Winners | None:
        return self._winners.get(event_id)

    def load_soon(self, event_id: str) -> None:
        if event_id in self._winners or event_id in self._loading:
            return
        self._loading.add(event_id)
        task = asyncio.get_running_loop().create_task(self._load(event_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _load(self, event_id: str) -> None:
        try:
            async with asyncio.timeout(self._timeout_s * 4):
                found = await self._source.frozen_winners(event_id)
        except (TimeoutError, RetryableError) as exc:
            # Not fatal: requests keep going to Redis and a later SOLD_OUT retries.
            log.warning("soldout_cache_load_failed", event_id=event_id, error=repr(exc))
            return
        finally:
            self._loading.discard(event_id)
        if found is None:
            return
        self._winners[event_id] = dict(found)
        log.info("soldout_cached", event_id=event_id, winners=len(found))
