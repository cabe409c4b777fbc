"""The live dashboard's data: one poller per worker process, fanned out to its viewers.

The poller starts with the first viewer and stops with the last; each round it reads
every watched event once (a few Redis round trips, whatever the number of viewers) and
hands the frame to each viewer's queue of one, so a slow viewer only misses frames.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Awaitable, Callable

import structlog

from couponrush.web.frames import Frame

log = structlog.get_logger(__name__)

Reader = Callable[[str], Awaitable[Frame]]


class TooManyViewers(Exception):
    """This worker already serves its bound of dashboard viewers."""


class Viewer:
    def __init__(self, event_id: str) -> None:
        self.event_id = event_id
        self.frames: asyncio.Queue[Frame] = asyncio.Queue(maxsize=1)

    def offer(self, frame: Frame) -> None:
        """Keep only the newest frame: a viewer that cannot keep up skips, never blocks."""
        if self.frames.full():
            self.frames.get_nowait()
        self.frames.put_nowait(frame)


class LiveHub:
    def __init__(self, read: Reader, interval_s: float, max_viewers: int) -> None:
        self._read = read
        self._interval_s = interval_s
        self._max_viewers = max_viewers
        self._viewers: dict[str, set[Viewer]] = defaultdict(set)
        self._latest: dict[str, Frame] = {}
        self._poller: asyncio.Task[None] | None = None

    @property
    def viewers(self) -> int:
        return sum(len(v) for v in self._viewers.values())

    @property
    def polling(self) -> bool:
        return self._poller is not None and not self._poller.done()

    def join(self, event_id: str) -> Viewer:
        if self.viewers >= self._max_viewers:
            raise TooManyViewers
        viewer = Viewer(event_id)
        self._viewers[event_id].add(viewer)
        if event_id in self._latest:
            viewer.offer(self._latest[event_id])
        if not self.polling:
            self._poller = asyncio.create_task(self._poll(), name="dashboard-poller")
        return viewer

    def leave(self, viewer: Viewer) -> None:
        watching = self._viewers.get(viewer.event_id)
        if watching is not None:
            watching.discard(viewer)
            if not watching:
                del self._viewers[viewer.event_id]
                self._latest.pop(viewer.event_id, None)
        if not self._viewers and self._poller is not None:
            self._poller.cancel()
            self._poller = None

    async def _poll(self) -> None:
        while self._viewers:
            for event_id in list(self._viewers):
                frame = await self._frame(event_id)
                self._latest[event_id] = frame
                for viewer in list(self._viewers.get(event_id, ())):
                    viewer.offer(frame)
            await asyncio.sleep(self._interval_s)

    async def _frame(self, event_id: str) -> Frame:
        try:
            return await self._read(event_id)
        except Exception as exc:  # a Redis hiccup must not end the stream of every viewer
            log.warning("dashboard_read_failed", event_id=event_id, error=type(exc).__name__)
            return {"result": "unavailable", "detail": "Could not read the event; trying again."}

    async def aclose(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        self._viewers.clear()


def sse(payload: bytes, event: str | None = None) -> bytes:
    """One Server-Sent Event; ``payload`` is one line (compact JSON)."""
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + payload + b"\n\n"
