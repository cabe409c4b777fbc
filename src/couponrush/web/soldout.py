"""Per-worker cache of sold-out events and their winners.

Once an event has sold out its Redis state is frozen, so a worker that has seen
SOLD_OUT loads the winners (at most total_stock entries) once and answers every later
request for that event locally: a winner gets its coupon back, anyone else "sold out".
With replicas, the winners are served only once the replicas confirm they hold them (a
barrier write and WAIT after the load), as a win answered by Redis is.

Frozen is not forever: ``restore`` and ``repair`` may re-open an event (see core.frozen).
So an entry is answered from only within the lease of the read that verified it; at
most every half lease a background check reads the event's stamp (one small transaction,
never one per request) and extends the lease, reloads the winners, or drops the entry.
Past the lease (Redis away, a check failing) requests go to Redis again.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from couponrush.core.errors import RetryableError
from couponrush.core.ports import FrozenStates, Winners

log = structlog.get_logger(__name__)


@dataclass(slots=True)
class _Entry:
    fingerprint: str
    winners: Winners
    # the clock (time.monotonic) when the read that verified it was sent
    verified_at: float


class SoldOutCache:
    def __init__(
        self,
        source: FrozenStates,
        timeout_s: float,
        lease_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._source = source
        self._clock = clock
        self._timeout_s = timeout_s
        self._lease_s = lease_s
        self._check_after_s = lease_s / 2
        self._entries: dict[str, _Entry] = {}
        self._busy: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def winners(self, event_id: str) -> Winners | None:
        entry = self._entries.get(event_id)
        if entry is None:
            return None
        age = self._clock() - entry.verified_at
        if age >= self._check_after_s:
            self._soon(event_id, self._check)
            if age > self._lease_s:
                return None
        return entry.winners

    def load_soon(self, event_id: str) -> None:
        if event_id not in self._entries:
            self._soon(event_id, self._load)

    def _soon(self, event_id: str, job: Callable[[str], Awaitable[None]]) -> None:
        """At most one load or check per event at a time."""
        if event_id in self._busy:
            return
        self._busy.add(event_id)
        task = asyncio.get_running_loop().create_task(self._run(event_id, job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, event_id: str, job: Callable[[str], Awaitable[None]]) -> None:
        try:
            async with asyncio.timeout(self._timeout_s * 4):
                await job(event_id)
        except (TimeoutError, RetryableError) as exc:
            # Not fatal: the entry lapses with its lease and requests go to Redis.
            log.warning("soldout_cache_read_failed", event_id=event_id, error=repr(exc))
        finally:
            self._busy.discard(event_id)

    async def _load(self, event_id: str) -> None:
        sent = self._clock()
        found = await self._source.frozen(event_id)
        if found is None:
            self._entries.pop(event_id, None)
            return
        if not await self._source.replicated(event_id):
            # A winner answered from here must survive a failover, as one answered by
            # issue.lua does; until the replicas confirm, requests go to Redis.
            log.warning("soldout_winners_not_replicated", event_id=event_id)
            return
        self._entries[event_id] = _Entry(found.stamp.fingerprint, dict(found.winners), sent)
        log.info("soldout_cached", event_id=event_id, winners=len(found.winners))

    async def _check(self, event_id: str) -> None:
        sent = self._clock()
        stamp = await self._source.stamp(event_id)
        entry = self._entries.get(event_id)
        if stamp is None or not stamp.sold_out or entry is None:
            if self._entries.pop(event_id, None) is not None:
                log.info("soldout_dropped", event_id=event_id)
            return
        if stamp.fingerprint == entry.fingerprint:
            entry.verified_at = sent
        else:
            await self._load(event_id)
