"""A failover under load: clients issuing through the gateway (retrying 503 as told), the
replicas of the event's primary lagging for a moment, then kill -9 of that primary.

What it reports: how long until a replica was promoted and until wins flowed again, the
503 answers meanwhile, and the acknowledged wins the failover lost, as reconcile (given
every win the clients were told) finds them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from couponrush.client import AsyncClient, IssueOutcome, RetryPolicy
from couponrush.rush.burst import answer
from couponrush.rush.oracle import WIN_RESULTS, Answer
from couponrush.stack import redis_ha, redis_nodes
from couponrush.stack.local import Stack
from couponrush.stack.ready import wait_until
from couponrush.stack.state import StackState
from couponrush.store.keys import event_keys

LOAD_S, LAG_AT_S, LAG_S = 10.0, 2.0, 0.5
POLICY = RetryPolicy(max_attempts=40, deadline_s=60, timeout_s=10)
ONE_CONNECTION = httpx.Limits(max_connections=1, max_keepalive_connections=1)


@dataclass
class Load:
    started: float = field(default_factory=time.monotonic)
    attempts: list[tuple[float, int]] = field(default_factory=list)
    answers: list[Answer] = field(default_factory=list)

    def add(self, outcome: IssueOutcome) -> None:
        self.attempts += [(a.answered_at - self.started, a.status) for a in outcome.attempts]
        self.answers.append(answer(outcome))


async def _clients(url: str, event_id: str, load: Load, concurrency: int) -> None:
    users = (f"fo-{i:07d}" for i in itertools.count())
    until = load.started + LOAD_S

    async def lane() -> None:
        async with AsyncClient(url, policy=POLICY, limits=ONE_CONNECTION) as client:
            while time.monotonic() < until:
                load.add(await client.issue(event_id, next(users)))

    await asyncio.gather(*(lane() for _ in range(concurrency)))


def _fail_over(stack: Stack, state: StackState, event_id: str) -> dict[str, float]:
    """Lag the replicas (CLIENT PAUSE WRITE: they keep acknowledging the stream but stop
    applying it), kill the primary, let the replicas go once they saw it gone, wait for a
    promotion, and start the old node again (it rejoins as a replica)."""
    key = event_keys(event_id).stock
    where = (state.redis_mode, state.redis_data_ports, state.sentinel_ports)
    primary = redis_ha.primary_of(*where, key)
    lagging = [
        p
        for p in state.redis_data_ports
        if p != primary and redis_nodes.info(p, "replication").get("master_port") == primary
    ]
    for port in lagging:
        redis_nodes.ask(port, "CLIENT", "PAUSE", 10_000, "WRITE")
    time.sleep(LAG_S)  # the lag being measured, not a wait for readiness
    killed = time.monotonic()
    redis_nodes.kill(primary)
    for port in lagging:
        wait_until(_link_down(port), "a replica to lose its primary", 10)
        redis_nodes.ask(port, "CLIENT", "UNPAUSE")
    wait_until(lambda: redis_ha.primary_of(*where, key) != primary, "a promotion", 30)
    promoted = time.monotonic() - killed
    stack.up()  # starts the killed node again
    return {"killed_at": killed, "promoted_s": round(promoted, 2)}


def _link_down(port: int) -> Callable[[], bool]:
    return lambda: bool(redis_nodes.info(port, "replication")["master_link_status"] == "down")


def _lost(state: StackState, event_id: str, load: Load) -> dict[str, Any]:
    """Reconcile with every told win, once the pipeline has written what it will write (a
    row may never come: a lost win's slot was handed out again, and the database holds the
    old owner)."""
    told = [
        {"user_id": a.user_id, "slot": a.slot, "coupon_code": a.coupon_code}
        for a in load.answers
        if a.result in WIN_RESULTS
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as fh:
        json.dump(told, fh)
    env = {**os.environ, **state.environment()}
    argv = [sys.executable, "-m", "couponrush", "reconcile", event_id, "--json", "--told", fh.name]
    report: dict[str, Any] = {}

    def settled() -> bool:
        nonlocal report
        before = report.get("missing_in_db")
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)
        report = json.loads(done.stdout)
        return not report["missing_in_db"] or report["missing_in_db"] == before

    try:
        wait_until(settled, "the pipeline to drain", 60)
    finally:
        Path(fh.name).unlink()
    return {
        "told_issued": len(told),
        "lost_acknowledged": len(report["lost_acknowledged"]),
        "reconcile_breaches": report["breaches"],
    }


async def measure(
    stack: Stack, state: StackState, event_id: str, concurrency: int = 64
) -> dict[str, Any]:
    load = Load()
    clients = asyncio.create_task(_clients(state.url, event_id, load, concurrency))
    await asyncio.sleep(LAG_AT_S)  # some seconds of steady load first
    times = await asyncio.to_thread(_fail_over, stack, state, event_id)
    await clients
    killed_at = times.pop("killed_at") - load.started
    after = [(t - killed_at, s) for t, s in load.attempts if t >= killed_at]
    last_503 = max((t for t, s in after if s == 503), default=0.0)
    restored = min((t for t, s in after if s == 201 and t >= last_503), default=None)
    return {
        **times,
        "wins_again_after_s": restored and round(restored, 2),
        "answers_503": sum(s == 503 for _, s in after),
        "other_5xx": sum(s >= 500 and s != 503 for _, s in load.attempts),
        **_lost(state, event_id, load),
    }
