"""`couponrush demo`: a flash sale on the local stack, ending with the invariant check."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime

import httpx
import redis
from rich.console import Console
from rich.table import Table

from couponrush import invariants
from couponrush.burst import burst_users, run_burst
from couponrush.keys import decode_participant, event_keys
from couponrush.stack import Stack, StackState


def create_event(state: StackState, event_id: str, stock: int) -> None:
    response = httpx.post(
        f"{state.url}/v1/events",
        json={"event_id": event_id, "name": f"Demo flash sale {event_id}", "total_stock": stock},
        headers={"Authorization": f"Bearer {state.admin_token}"},
        timeout=10,
    )
    response.raise_for_status()


def redis_truth(redis_url: str, event_id: str) -> tuple[dict[str, int], int]:
    """The winners (user -> slot) and the stock counter, read in one transaction."""
    keys = event_keys(event_id)
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        pipe = client.pipeline(transaction=True)
        pipe.hgetall(keys.participants)
        pipe.get(keys.stock)
        raw, stock = pipe.execute()
    finally:
        client.close()
    return {u: decode_participant(v)[0] for u, v in raw.items()}, int(stock or 0)


def run(
    stack: Stack, console: Console, clients: int, users: int, stock: int, concurrency: int,
    workers: int | None,
) -> bool:  # fmt: skip
    with console.status("bringing the stack up…"):
        state = stack.up(workers)
    console.print(f"stack ready at {state.url} ({state.workers} workers)")
    event_id = "demo-" + datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    create_event(state, event_id, stock)
    order = burst_users(clients, users)
    console.print(f"event {event_id}: {stock} coupons; {clients} requests from {users} users")
    started = time.perf_counter()
    answers = asyncio.run(run_burst(state.url, event_id, order, concurrency, forwarded_for=True))
    elapsed = time.perf_counter() - started
    winners, stock_left = redis_truth(state.redis_url, event_id)
    breaches = invariants.check(stock, answers, winners, stock_left,
                                expect_sold_out=users >= stock)  # fmt: skip
    _report(console, answers, elapsed, winners, breaches)
    return not breaches


def _report(
    console: Console, answers: list[invariants.Answer], elapsed: float,
    winners: dict[str, int], breaches: list[str],
) -> None:  # fmt: skip
    table = Table(title="outcomes")
    table.add_column("result")
    table.add_column("status")
    table.add_column("count", justify="right")
    for (result, status), count in sorted(Counter((a.result, a.status) for a in answers).items()):
        table.add_row(result, str(status), str(count))
    console.print(table)
    console.print(f"{len(answers)} answers in {elapsed:.2f} s ({len(answers) / elapsed:,.0f}/s); "
                  f"{len(winners)} winners in Redis")  # fmt: skip
    if breaches:
        console.print(f"[red]INVARIANTS BROKEN[/] ({len(breaches)}):")
        for line in breaches[:20]:
            console.print(f"  - {line}")
    else:
        console.print("[green]invariants hold[/]: no oversell, one coupon per user, "
                      "slots 1..N each once, every client a definite answer")  # fmt: skip
