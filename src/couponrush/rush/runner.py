"""Runs the generator processes, shows progress, and merges what they saw."""

from __future__ import annotations

import gc
import multiprocessing as mp
import queue
import time
from dataclasses import dataclass
from multiprocessing.sharedctypes import SynchronizedArray
from typing import Any
from urllib.parse import urlsplit

import uvloop
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from couponrush.core.errors import CouponrushError
from couponrush.rush import engine
from couponrush.rush.plan import RushPlan
from couponrush.rush.recorder import Recorder

START_DELAY_S = 1.5  # lets every process connect before the opening second


@dataclass
class Merged(Recorder):
    """What every process saw, summed."""

    wall_s: float = 0.0


def _child(
    plan: RushPlan,
    process: int,
    host: str,
    port: int,
    start_at: float,
    progress: SynchronizedArray[Any],
    results: mp.Queue[Any],
) -> None:
    gc.disable()  # every object of a run is short-lived and acyclic; collection only costs
    runner = engine.Engine(plan, process, host, port, start_at, progress)
    results.put((process, uvloop.run(runner.run())))


def run(
    plan: RushPlan, url: str, show_progress: bool = True, start_at: float | None = None
) -> Merged:
    """``start_at``: the opening second (time.time()); by default START_DELAY_S from now."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    ctx = mp.get_context("spawn")
    progress: SynchronizedArray[Any] = ctx.Array("q", 6)
    results: mp.Queue[Any] = ctx.Queue()
    start_at = start_at or time.time() + START_DELAY_S
    children = [
        ctx.Process(target=_child, args=(plan, k, host, port, start_at, progress, results))
        for k in range(plan.processes)
    ]
    for child in children:
        child.start()
    merged = Merged()
    _watch(plan, progress, results, children, merged, show_progress)
    merged.wall_s = time.time() - start_at
    return merged


def _watch(
    plan: RushPlan,
    progress: SynchronizedArray[Any],
    results: mp.Queue[Any],
    children: list[Any],
    merged: Merged,
    show: bool,
) -> None:
    columns = (
        TextColumn("[bold]rush"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
    )
    received = 0
    deadline = time.monotonic() + START_DELAY_S + plan.max_duration_s + 60
    with Progress(*columns, disable=not show, refresh_per_second=4) as bar:
        task = bar.add_task("", total=plan.clients)
        while received < len(children):
            try:
                _, part = results.get(timeout=0.25)
                merged.merge(part)
                received += 1
            except queue.Empty:
                if time.monotonic() > deadline or not any(c.is_alive() for c in children):
                    raise CouponrushError("a generator process died or overran") from None
            bar.update(task, completed=progress[engine.FINISHED], description=_line(progress))
    for child in children:
        child.join(timeout=10)


def _line(progress: SynchronizedArray[Any]) -> str:
    sent, _, issued, sold_out, retries, errors = progress[:]
    return (
        f"sent={sent:,} issued={issued:,} sold_out={sold_out:,} "
        f"retries={retries:,} errors={errors:,}"
    )
