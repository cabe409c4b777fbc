"""The dashboard's hub: one poller per worker for any number of viewers, bounded."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest

from couponrush.web.frames import Frame
from couponrush.web.live import LiveHub, TooManyViewers


class CountingReader:
    """Stands in for the Redis reads: counts them, answers at once."""

    def __init__(self) -> None:
        self.reads: Counter[str] = Counter()

    async def __call__(self, event_id: str) -> Frame:
        self.reads[event_id] += 1
        return {"result": "ok", "event_id": event_id, "round": self.reads[event_id]}


async def test_one_poller_reads_each_event_once_per_round_whatever_the_viewers() -> None:
    reader = CountingReader()
    hub = LiveHub(reader, interval_s=0.02, max_viewers=10)
    assert not hub.polling
    viewers = [hub.join("spring") for _ in range(5)] + [hub.join("autumn")]
    assert hub.polling
    frames = [await asyncio.wait_for(v.frames.get(), 1) for v in viewers]
    assert {f["event_id"] for f in frames} == {"spring", "autumn"}
    await asyncio.sleep(0.2)
    rounds = reader.reads["spring"]
    assert 3 <= rounds <= 12  # about one read per round, not one per viewer
    assert abs(reader.reads["autumn"] - rounds) <= 1
    for viewer in viewers:
        hub.leave(viewer)
    await asyncio.sleep(0)
    assert not hub.polling
    after = sum(reader.reads.values())
    await asyncio.sleep(0.1)
    assert sum(reader.reads.values()) == after  # no viewer, no reads


async def test_viewers_are_bounded_and_a_slow_one_only_skips_frames() -> None:
    hub = LiveHub(CountingReader(), interval_s=0.01, max_viewers=2)
    slow, other = hub.join("e1"), hub.join("e1")
    with pytest.raises(TooManyViewers):
        hub.join("e1")
    await asyncio.sleep(0.1)  # slow never reads: its queue holds only the newest frame
    assert slow.frames.qsize() == 1
    newest = slow.frames.get_nowait()
    assert newest["round"] > 1
    hub.leave(other)
    assert hub.join("e2") is not None  # room again
    await hub.aclose()
    assert not hub.polling
