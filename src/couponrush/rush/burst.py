"""A burst of concurrent clients against one event through the SDK, with a progress bar."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Sequence

import httpx
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from couponrush.client import AsyncClient, IssueOutcome, RetryPolicy
from couponrush.rush.oracle import Answer
from couponrush.rush.plan import client_address

# The tests' bursts: a handful of tries, each within 10 s.
BURST_POLICY = RetryPolicy(max_attempts=8, deadline_s=60, timeout_s=10)
_ONE_CONNECTION = httpx.Limits(max_connections=1, max_keepalive_connections=1)


def burst_users(clients: int, distinct: int, seed: int = 7) -> list[str]:
    """``clients`` requests from ``distinct`` users: every user once, the rest repeats."""
    users = [f"user-{i:07d}" for i in range(distinct)]
    rng = random.Random(seed)
    extra = [rng.choice(users) for _ in range(max(0, clients - distinct))]
    order = users + extra
    rng.shuffle(order)
    return order


def answer(outcome: IssueOutcome) -> Answer:
    """What the oracle checks of an SDK outcome."""
    coupon = outcome.coupon
    slot, code = (coupon.slot, coupon.coupon_code) if coupon else (None, None)
    return Answer(outcome.user_id, outcome.status, outcome.result, slot, code)


async def run_burst(
    url: str,
    event_id: str,
    users: Sequence[str],
    concurrency: int,
    show_progress: bool = True,
    forwarded_for: bool = False,
    policy: RetryPolicy = BURST_POLICY,
) -> list[Answer]:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for user in users:
        queue.put_nowait(user)
    answers: list[Answer] = []
    counts: Counter[str] = Counter()
    columns = (
        TextColumn("[bold]burst"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
    )
    with Progress(*columns, disable=not show_progress, transient=True) as progress:
        task = progress.add_task("", total=len(users))

        async def worker() -> None:
            # A client (and connection) per lane: one pool shared by hundreds of lanes
            # spends its time scanning its connections for each request.
            async with AsyncClient(url, policy=policy, limits=_ONE_CONNECTION) as client:
                while not queue.empty():
                    user = queue.get_nowait()
                    headers = {"X-Forwarded-For": client_address(user)} if forwarded_for else None
                    answers.append(answer(await client.issue(event_id, user, headers=headers)))
                    counts[answers[-1].result] += 1
                    if len(answers) % 500 == 0 or len(answers) == len(users):
                        progress.update(task, completed=len(answers), description=_summary(counts))

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return answers


def _summary(counts: Counter[str]) -> str:
    return "  ".join(f"{k}={v}" for k, v in sorted(counts.items()))
