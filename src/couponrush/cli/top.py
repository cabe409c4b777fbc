"""``couponrush top EVENT``: one event, live, from Redis and the processes' metrics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass

import httpx
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.table import Table

from couponrush.cli.scrape import Scrape, Window, scrape
from couponrush.core.event import EventView
from couponrush.settings import Settings
from couponrush.store import client, stats
from couponrush.store.client import RedisClient
from couponrush.store.events import EventStore
from couponrush.store.scripts import Scripts

# The answers worth a column each, in this order; the rest are summed as "other".
RESULTS = ("issued", "already_issued", "sold_out", "rate_limited", "overloaded", "unavailable")


@dataclass(frozen=True)
class Frame:
    event: EventView | None
    backlog: int
    dead_letters: int
    window: Window


class Watcher:
    """Reads one event's state from Redis and the metrics, a frame per call."""

    def __init__(self, settings: Settings, event_id: str, urls: Sequence[str]) -> None:
        self._redis: RedisClient = client.connect(settings, 2.0)
        self._store = EventStore(self._redis, Scripts.from_package())
        self._group = settings.outbox_group
        self._event_id, self._urls = event_id, list(urls)
        self._http = httpx.AsyncClient(timeout=2.0)
        self._last: Scrape | None = None

    async def frame(self) -> Frame:
        with client.translated():
            event = await self._store.get(self._event_id)
            found = await stats.event_stats(self._redis, self._group, [self._event_id])
            depth = await stats.dead_letter_depth(self._redis)
        now = await scrape(self._http, self._urls)
        before, self._last = self._last or now, now
        return Frame(event, found[0].backlog if found else 0, depth, Window(before, now))

    async def aclose(self) -> None:
        await self._http.aclose()
        await self._redis.aclose()


# The win lane's outcomes (lua/couponrush/metrics.lua).
LANE = ("issued", "already_issued", "pass", "error")


def _n(value: float) -> str:
    return f"{value:,.0f}"


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f} ms"


def _answers(w: Window) -> list[tuple[str, str]]:
    """The app's answers, latency and Redis batching, the gateway's answers and its win
    lane's (wins it answered itself, requests it sent on)."""
    results = w.rates_by("couponrush_issue_requests_total", "result")
    lane = w.rates_by("couponrush_gateway_lane_total", "outcome")
    other = sum(v for k, v in results.items() if k not in RESULTS)
    mix = " · ".join(f"{k} {_n(results.get(k, 0))}" for k in RESULTS)
    latency = "couponrush_issue_latency_seconds"
    statuses = w.rates_by("couponrush_gateway_responses_total", "status")
    calls = w.rate("couponrush_redis_batch_size_sum") / max(
        w.rate("couponrush_redis_batch_size_count"), 1e-9
    )
    return [
        ("answers/s", f"{_n(sum(results.values()))} = {mix} · other {_n(other)}"),
        ("latency", f"p50 {_ms(w.quantile(0.5, latency))} · p99 {_ms(w.quantile(0.99, latency))}"),
        ("gateway/s", " · ".join(f"{k} {_n(v)}" for k, v in sorted(statuses.items()) if v) or "-"),
        ("win lane/s", " · ".join(f"{k} {_n(lane.get(k, 0))}" for k in LANE)),
        (
            "redis",
            f"in flight {_n(w.after.sum('couponrush_issue_in_flight'))} · "
            f"{calls:,.1f} calls per round trip · round trip p99 "
            f"{_ms(w.quantile(0.99, 'couponrush_redis_round_trip_seconds'))}",
        ),
    ]


def _stock(e: EventView | None, event_id: str) -> tuple[str, str]:
    if e is None:
        return "event", f"[red]no event {event_id!r} in Redis[/]"
    done = e.issued / e.total_stock if e.total_stock else 0.0
    return "stock", (
        f"{_n(e.remaining)} of {_n(e.total_stock)} left · "
        f"{_n(e.issued)} issued ({done:.0%}) · {e.status}"
    )


def render(frame: Frame, event_id: str) -> Panel:
    w, e = frame.window, frame.event
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold cyan", no_wrap=True)
    grid.add_column()
    pipeline = (
        f"backlog {_n(frame.backlog)} · rows/s "
        f"{_n(w.rate('couponrush_pipeline_rows_written_total'))} · lag "
        f"{_ms(w.after.sum('couponrush_consumer_lag_seconds'))} · dead letters "
        f"{_n(frame.dead_letters)}"
    )
    for row in [_stock(e, event_id), *_answers(w), ("pipeline", pipeline)]:
        grid.add_row(*row)
    title = f"couponrush top · {event_id}" + (f" · {e.name}" if e and e.name else "")
    footer = f"rates over the last {w.seconds:.1f} s · {time.strftime('%H:%M:%S')}"
    return Panel(Group(grid), title=title, subtitle=footer, expand=False)


async def watch(
    settings: Settings,
    event_id: str,
    urls: Sequence[str],
    every_s: float,
    duration_s: float,
    once: bool,
    console: Console,
) -> None:
    """Until ``duration_s`` has passed or Ctrl-C; ``once``: print one frame, rates over
    ``every_s``, and stop."""
    watcher = Watcher(settings, event_id, urls)
    try:
        await watcher.frame()
        if once:
            await asyncio.sleep(every_s)
            console.print(render(await watcher.frame(), event_id))
            return
        deadline = time.monotonic() + duration_s
        with Live(console=console, auto_refresh=False) as live:
            while time.monotonic() < deadline:
                await asyncio.sleep(every_s)
                live.update(render(await watcher.frame(), event_id), refresh=True)
    finally:
        await watcher.aclose()
