"""A burst of concurrent clients against one event, with a progress bar."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Sequence

import aiohttp
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from couponrush.rush.client import CouponClient
from couponrush.rush.oracle import Answer
from couponrush.rush.plan import client_address


def burst_users(clients: int, distinct: int, seed: int = 7) -> list[str]:
    """``clients`` requests from ``distinct`` users: every user once, the rest repeats."""
    users = [f"user-{i:07d}" for i in range(distinct)]
    rng = random.Random(seed)
    extra = [rng.choice(users) for _ in range(max(0, clients - distinct))]
    order = users + extra
    rng.shuffle(order)
    return order


async def run_burst(
    url: str, event_id: str, users: Sequence[str], concurrency: int, show_progress: bool = True,
    forwarded_for: bool = False,
) -> list[Answer]:  # fmt: skip
    queue: asyncio.Queue[str] = asyncio.Queue()
    for user in users:
        queue.put_nowait(user)
    answers: list[Answer] = []
    counts: Counter[str] = Counter()
    columns = (TextColumn("[bold]burst"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("{task.description}"))  # fmt: skip
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(url, connector=connector, timeout=timeout) as http:
        client = CouponClient(http)
        with Progress(*columns, disable=not show_progress, transient=True) as progress:
            task = progress.add_task("", total=len(users))

            async def worker() -> None:
                while not queue.empty():
                    user = queue.get_nowait()
                    headers = {"X-Forwarded-For": client_address(user)} if forwarded_for else None
                    answer = await client.issue(event_id, user, headers)
                    answers.append(answer)
                    counts[answer.result] += 1
                    if len(answers) % 500 == 0 or len(answers) == len(users):
                        progress.update(task, completed=len(answers), description=_summary(counts))

            await asyncio.gather(*(worker() for _ in range(concurrency)))
    return answers


def _summary(counts: Counter[str]) -> str:
    return "  ".join(f"{k}={v}" for k, v in sorted(counts.items()))
