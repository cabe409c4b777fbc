"""One generator process: its share of the clients over its share of the connections."""

from __future__ import annotations

import asyncio
import heapq
import random
import time
from collections.abc import Iterator
from multiprocessing.sharedctypes import SynchronizedArray
from typing import Any

from couponrush.core.retry import RETRYABLE_STATUSES, backoff_s
from couponrush.rush.plan import RushPlan, client_address, user_id
from couponrush.rush.proto import Connection, connect, issue_request, parse_json
from couponrush.rush.recorder import Recorder

# Shared progress slots: sent, finished, issued, sold_out, retries, network errors
SENT, FINISHED, ISSUED, SOLD_OUT, RETRIES, ERRORS = range(6)


class Engine:
    def __init__(
        self,
        plan: RushPlan,
        process: int,
        host: str,
        port: int,
        start_at: float,
        progress: SynchronizedArray[Any] | None = None,
    ) -> None:
        self.plan = plan
        self.host, self.port = host, port
        self.rec = Recorder()
        self._fresh: Iterator[int] = iter(plan.share(process))
        self._next: int | None = next(self._fresh, None)
        self._retries: list[tuple[float, int, int]] = []  # (due, index, attempt)
        self._lanes = plan.connections_of(process)
        self._progress = progress
        self._local = [0] * 6
        # the shared wall-clock start, as this process's monotonic clock
        self._t0 = time.monotonic() + (start_at - time.time())
        self._deadline = self._t0 + plan.max_duration_s
        self._rng = random.Random(process)
        self._event = plan.event_id.encode()
        self._host_header = f"{host}:{port}".encode()

    async def run(self) -> dict[str, Any]:
        ticker = asyncio.create_task(self._tick())
        try:
            await asyncio.gather(*(self._lane() for _ in range(self._lanes)))
        finally:
            ticker.cancel()
            self._publish()
        self.rec.unfinished += sum(1 for _ in self._pending_fresh()) + len(self._retries)
        return self.rec.export()

    def _pending_fresh(self) -> Iterator[int]:
        if self._next is not None:
            yield self._next
        yield from self._fresh

    def _take(self, now: float) -> tuple[int, int] | float | None:
        """A job due now, else the time of the next one, else None when all are done."""
        if self._retries and self._retries[0][0] <= now:
            _, index, attempt = heapq.heappop(self._retries)
            return index, attempt
        due = [self._retries[0][0]] if self._retries else []
        if self._next is not None:
            start = self._t0 + self.plan.offset_s(self._next)
            if start <= now:
                index, self._next = self._next, next(self._fresh, None)
                return index, 0
            due.append(start)
        return min(due) if due else None

    async def _lane(self) -> None:
        conn: Connection | None = None
        while (now := time.monotonic()) < self._deadline:
            job = self._take(now)
            if job is None:
                break
            if isinstance(job, float):
                await asyncio.sleep(min(job - now, 0.05))
                continue
            if conn is None or conn.closed:
                conn = await self._connect()
                if conn is None:
                    self._retry_or_finish(job, 0.0, 0, "network_error", {})
                    continue
            await self._request(conn, *job)
        if conn is not None:
            conn.close()

    async def _connect(self) -> Connection | None:
        try:
            return await asyncio.wait_for(connect(self.host, self.port), 5)
        except (OSError, TimeoutError):
            self.rec.network_errors += 1
            self._local[ERRORS] += 1
            return None

    async def _request(self, conn: Connection, index: int, attempt: int) -> None:
        user = user_id(index)
        raw = issue_request(self._host_header, self._event, user, client_address(user))
        sent = time.monotonic()
        self.rec.sent(int(sent - self._t0))
        self._local[SENT] += 1
        try:
            status, retry_after, body = await asyncio.wait_for(
                conn.send(raw), self.plan.request_timeout_s
            )
        except (ConnectionError, OSError, TimeoutError):
            conn.close()
            self.rec.network_errors += 1
            self._local[ERRORS] += 1
            self._keep(user, 0, "network_error", {})
            self._retry_or_finish((index, attempt), 0.0, 0, "network_error", {})
            return
        now = time.monotonic()
        doc = parse_json(body)
        result = str(doc.get("result", f"http_{status}"))
        self.rec.answered(now - self._t0, int((now - sent) * 1e6), status, result)
        self._keep(user, status, result, doc)
        self._retry_or_finish((index, attempt), retry_after, status, result, doc)

    def _keep(self, user: str, status: int, result: str, doc: dict[str, Any]) -> None:
        if self.plan.history:
            at = round(time.monotonic() - self._t0, 4)
            self.rec.history.append((at, user, status, result, int(doc.get("slot") or 0)))

    def _retry_or_finish(
        self,
        job: tuple[int, int],
        retry_after: float,
        status: int,
        result: str,
        doc: dict[str, Any],
    ) -> None:
        index, attempt = job
        now = time.monotonic()
        if (status in RETRYABLE_STATUSES or status == 0) and attempt < self.plan.retry_budget:
            due = now + backoff_s(attempt, retry_after, self._rng.random())
            heapq.heappush(self._retries, (due, index, attempt + 1))
            self.rec.retries += 1
            self._local[RETRIES] += 1
            return
        arrived = self.plan.offset_s(index)
        self.rec.finished(now - self._t0, arrived, result, doc, user_id(index))
        self._local[FINISHED] += 1
        self._local[ISSUED] += result == "issued"
        self._local[SOLD_OUT] += result == "sold_out"

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(0.2)
            self._publish()

    def _publish(self) -> None:
        if self._progress is None:
            return
        with self._progress.get_lock():
            for slot, value in enumerate(self._local):
                self._progress[slot] += value
        self._local = [0] * 6
