"""A shuffled pre-queue's positions are independent of arrival: 10,000 enrolments in a
known order through queue.lua on a real Redis, then two tests of the order served.

- Spearman's rank correlation between arrival and position: under independence it is
  about normal with mean 0 and standard deviation 1/sqrt(n - 1) (0.0100 here); the bound
  is 4 of those, |rho| < 0.04 (a fair shuffle exceeds it once in ~16,000 runs).
- Pearson's chi-square test of independence on a 10 x 10 table (arrival decile by
  position decile, 100 expected per cell): 81 degrees of freedom, refused at significance
  0.001 (critical value 126.08).

The seed is a fresh random one, as in production (the failure message names it, to
replay). A control runs the same statistics on the arrival order itself and must fail
both, so the test can fail.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from couponrush.core.event import Event
from couponrush.core.queue import SEED_BYTES, Opening, ticket
from couponrush.store.events import EventStore
from couponrush.store.queue import QueueStore
from couponrush.store.scripts import Scripts

N = 10_000
RHO_BOUND = 4 / (N - 1) ** 0.5
BINS = 10
# The 0.999 quantile of chi-square with (BINS - 1) ** 2 = 81 degrees of freedom.
CHI2_CRITICAL = 126.08
_AT_ONCE = 8


def spearman(positions: Sequence[int]) -> float:
    """Rank correlation of arrival (the index) and position (both 0..n-1, no ties)."""
    n = len(positions)
    d2 = sum((p - i) ** 2 for i, p in enumerate(positions))
    return 1 - 6 * d2 / (n * (n * n - 1))


def chi_square(positions: Sequence[int]) -> float:
    """Independence of arrival decile and position decile."""
    n = len(positions)
    table = [[0] * BINS for _ in range(BINS)]
    for i, p in enumerate(positions):
        table[i * BINS // n][p * BINS // n] += 1
    expected = n / BINS / BINS
    return sum((cell - expected) ** 2 / expected for row in table for cell in row)


async def enrol(queues: QueueStore, event_id: str, users: Sequence[str]) -> None:
    """In arrival order: each batch after the one before has been answered."""
    for start in range(0, len(users), _AT_ONCE):
        batch = users[start : start + _AT_ONCE]
        places = await asyncio.gather(*(queues.join(event_id, u, "") for u in batch))
        assert {p.outcome for p in places} == {"JOINED"}


async def test_position_is_independent_of_arrival(
    redis: Redis, scripts: Scripts, event_id: str
) -> None:
    seed = secrets.token_bytes(SEED_BYTES).hex()
    starts = datetime.now(UTC) + timedelta(hours=1)
    event = Event(event_id, "fair", 100, starts, None, Opening("shuffled"), seed)
    assert await EventStore(redis, scripts).create(event) is not None
    queues = QueueStore(redis, scripts)
    users = [f"arrival-{i:05d}" for i in range(N)]
    await enrol(queues, event_id, users)
    _, prequeue, late = await queues.order(event_id)
    assert (len(prequeue), late) == (N, [])
    place = {entry: i for i, entry in enumerate(prequeue)}
    positions = [place[ticket(event_id, u)] for u in users]
    assert sorted(positions) == list(range(N))
    rho, chi2 = spearman(positions), chi_square(positions)
    print(f"n={N} rho={rho:.4f} (bound {RHO_BOUND:.4f}) chi2={chi2:.1f} (< {CHI2_CRITICAL})")
    assert abs(rho) < RHO_BOUND, f"rho {rho:.4f} (seed {seed})"
    assert chi2 < CHI2_CRITICAL, f"chi-square {chi2:.1f} (seed {seed})"
    arrival = list(range(N))  # the control: first come, first served
    assert spearman(arrival) == 1.0
    assert chi_square(arrival) > CHI2_CRITICAL
