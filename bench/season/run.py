"""bench/season: a new sale after 10,000 past ones, against the first sale of the run.

    .venv/bin/python -m bench.season.run [--past 10000] [--seconds 5] [--rounds 5]

In one stack (gateway, app workers, Redis, PostgreSQL, consumer), three phases:
(a) the first sale: wrk issues through the gateway for --seconds, every request a new
    user, on an event it cannot sell out, --rounds times (an event each); per round its
    issuing rate (wins per second between its first and last win) and its last-row lag
    (from its last win until the database holds every row), read from the rows
    themselves; then single wins, one at a time on a quiet pipeline, and the lag of each;
(b) --past sales, each created through the API, won once and so sold out: a season's
    worth of past events, each with its outbox stream, consumer group and row; then the
    run waits until they have left the live index (LIVE_LINGER_S is 5 s here, not 10
    minutes, so that "past" comes within the run);
(c) a new sale, exactly as (a).
Before (a) and before (c) the stores are brought to rest as weeks between sales would
leave them: VACUUM ANALYZE and a CHECKPOINT in PostgreSQL, an AOF rewrite in Redis, each
waited for; so neither sale runs beside the maintenance of the writes before it. The
load average of the machine is recorded with each sale.
(c)'s figures as ratios to (a)'s, the median of the rounds each: the target is >= 0.9 for
the issuing rate and for the last-row lag (that ratio is (a)'s lag over (c)'s, so that 1
means as good). The machine is shared: the rounds and the medians are there to damp the
noise of what else runs on it, and the CPU seconds each of the stack's processes spent
per 1000 wins are measured per round (/proc), so that a sale that was slower because
the machine was busier tells itself apart from one whose wins cost more (wins_per_cpu_s,
and the quiet rows' lag, have no target: they say which it was).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import secrets
import statistics
import time
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bench.common import POST_LUA, bench_stack, cpu_seconds, create_event, write_result, wrk
from couponrush.client import AsyncClient
from couponrush.stack.local import Stack
from couponrush.stack.state import StackState
from couponrush.store.keys import LIVE, event_keys

TARGET = 0.9
# A finished sale counts as "recent" this long in the run (10 minutes by default).
LINGER_S = 5
# A linger this long keeps the past sales live through the run: the control, in which the
# sweeps, the feed and the metrics read every past sale as they did before the live index.
_CONTROL_S = 60
_AT_ONCE = 32
_DEADLINE_S = 600


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--past", type=int, default=10_000, help="past sales before the new one")
    parser.add_argument("--seconds", type=int, default=5, help="issuing time per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of issuing per sale")
    parser.add_argument("--quiet", type=int, default=15, help="single wins on a quiet pipeline")
    parser.add_argument("--stock", type=int, default=500_000, help="coupons of a measured sale")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=None, help="app workers")
    parser.add_argument(
        "--linger",
        type=float,
        default=LINGER_S,
        help=f"LIVE_LINGER_S; >= {_CONTROL_S}: the control run, past sales stay live",
    )
    parser.add_argument("--out", type=Path, help="JSON result path")
    return parser.parse_args()


async def _rows_settled(db: Any, event_id: str, wins: int) -> None:
    deadline = time.monotonic() + _DEADLINE_S
    sql = "SELECT count(*) FROM coupon_issuances WHERE event_id = $1"
    while await db.fetchval(sql, event_id) < wins:
        if time.monotonic() > deadline:
            raise SystemExit(f"{event_id}: not {wins} rows within {_DEADLINE_S} s")
        await asyncio.sleep(0.02)


async def measure(state: StackState, event_id: str) -> dict[str, float]:
    """One round's figures from Redis (the winners) and the rows (issued_at, persisted_at)."""
    redis = Redis.from_url(state.redis_url, decode_responses=True)
    db = await asyncpg.connect(state.database_url)
    try:
        wins = int(await redis.hlen(event_keys(event_id).participants))
        await _rows_settled(db, event_id, wins)
        row = await db.fetchrow(
            "SELECT min(issued_at) AS first, max(issued_at) AS last, "
            "max(persisted_at) AS landed FROM coupon_issuances WHERE event_id = $1",
            event_id,
        )
    finally:
        await db.close()
        await redis.aclose()
    assert row is not None
    span = max((row["last"] - row["first"]).total_seconds(), 1e-3)
    return {
        "wins": wins,
        "issuing_rate": wins / span,
        "last_row_lag_s": (row["landed"] - row["last"]).total_seconds(),
    }


async def quiet_lags(state: StackState, event_id: str, count: int) -> list[float]:
    """Single wins on a quiet pipeline, one after the other's row landed: each one's lag."""
    db = await asyncpg.connect(state.database_url)
    lags: list[float] = []
    try:
        async with httpx.AsyncClient(base_url=state.url, timeout=30) as http:
            for i in range(count):
                await http.post(f"/v1/events/{event_id}/issue", json={"user_id": f"quiet-{i}"})
                await _rows_settled(db, event_id, i + 1)
                lag = await db.fetchval(
                    "SELECT persisted_at - issued_at FROM coupon_issuances "
                    "WHERE event_id = $1 AND user_id = $2",
                    event_id,
                    f"quiet-{i}",
                )
                lags.append(lag.total_seconds())
    finally:
        await db.close()
    return lags


def _cpu(stack: Stack) -> dict[str, float]:
    """CPU seconds so far of each of the stack's processes (with their children)."""
    return {p["name"]: cpu_seconds([p["pid"]]) for p in stack.processes() if p.get("pid")}


def _round(stack: Stack, state: StackState, args: argparse.Namespace, name: str) -> dict[str, Any]:
    event_id = f"season-{name}-{secrets.token_hex(3)}"
    create_event(state.url, state.admin_token, event_id, args.stock)
    before = _cpu(stack)
    load = wrk(
        f"{state.url}/v1/events/{event_id}/issue",
        args.seconds,
        args.connections,
        args.threads,
        POST_LUA,
    )
    figures = asyncio.run(measure(state, event_id))
    spent = {k: v - before.get(k, 0.0) for k, v in _cpu(stack).items()}
    _close(state, event_id)
    print(
        f"  {event_id}: {figures['wins']:,.0f} wins, {figures['issuing_rate']:,.0f}/s, "
        f"last row {figures['last_row_lag_s'] * 1000:.0f} ms after the last win",
        flush=True,
    )
    per_1000 = {k: round(1000 * v / max(figures["wins"], 1), 4) for k, v in spent.items()}
    return {
        **figures,
        "requests_per_s": load.rps,
        "non_2xx": load.non_2xx,
        "cpu_s_per_1000_wins": per_1000,
    }


def sale(stack: Stack, state: StackState, args: argparse.Namespace, name: str) -> dict[str, Any]:
    """--rounds rounds of issuing, then the quiet wins; the medians and every round."""
    print(f"sale {name}: {args.rounds} rounds of {args.seconds} s …", flush=True)
    rounds = [_round(stack, state, args, f"{name}-{i}") for i in range(args.rounds)]
    quiet = f"season-{name}-quiet-{secrets.token_hex(3)}"
    create_event(state.url, state.admin_token, quiet, args.quiet)
    lags = asyncio.run(quiet_lags(state, quiet, args.quiet))
    _close(state, quiet)
    names = rounds[0]["cpu_s_per_1000_wins"]
    return {
        "load_average": os.getloadavg(),
        "cpu_s_per_1000_wins": {
            k: statistics.median(r["cpu_s_per_1000_wins"].get(k, 0.0) for r in rounds)
            for k in names
        },
        "issuing_rate": statistics.median(r["issuing_rate"] for r in rounds),
        "last_row_lag_s": statistics.median(r["last_row_lag_s"] for r in rounds),
        "quiet_row_lag_s": statistics.median(lags),
        "rounds": rounds,
        "quiet_row_lags_s": lags,
    }


def _close(state: StackState, event_id: str) -> None:
    """Done: the event may leave the live index."""
    with httpx.Client(base_url=state.url, timeout=30) as http:
        http.post(f"/v1/events/{event_id}/close", headers=_admin(state))


def _admin(state: StackState) -> dict[str, str]:
    return {"Authorization": f"Bearer {state.admin_token}"}


async def _past_sale(client: AsyncClient, prefix: str, i: int) -> None:
    """One sold-out sale, as an operator's script makes it: the SDK waits out 429/503, and
    a create sent again answers 200."""
    event_id = f"{prefix}-{i:05d}"
    await client.create_event(event_id, 1, name=f"Past sale {i}")
    won = await client.issue(event_id, f"winner-{i}")
    if not won.won:
        raise SystemExit(f"{event_id}: no win ({won.result})")


async def past_sales(state: StackState, count: int) -> float:
    """``count`` sold-out sales through the API; the seconds it took."""
    started = time.monotonic()
    prefix = f"past-{secrets.token_hex(2)}"
    limits = httpx.Limits(max_connections=_AT_ONCE)
    async with AsyncClient(state.url, admin_token=state.admin_token, limits=limits) as client:
        for start in range(0, count, _AT_ONCE):
            batch = range(start, min(count, start + _AT_ONCE))
            await asyncio.gather(*(_past_sale(client, prefix, i) for i in batch))
            if (start // _AT_ONCE) % 60 == 0:
                print(f"  past sales: {start + len(batch):,} of {count:,}", flush=True)
    return time.monotonic() - started


async def until_retired(state: StackState, past: int, wait: bool) -> dict[str, Any]:
    """Wait until the past sales have left the live index (unless not ``wait``: the
    control run, where they stay); what the stores hold then."""
    redis = Redis.from_url(state.redis_url, decode_responses=True)
    db = await asyncpg.connect(state.database_url)
    try:
        deadline = time.monotonic() + _DEADLINE_S
        while wait and int(await redis.zcard(LIVE)) > 0:
            if time.monotonic() > deadline:
                raise SystemExit("the past sales did not leave the live index")
            await asyncio.sleep(0.5)
        events = int(await db.fetchval("SELECT count(*) FROM coupons"))
        rows = int(await db.fetchval("SELECT count(*) FROM coupon_issuances"))
        streams = len([k async for k in redis.scan_iter(match="coupon:{*}:outbox", count=1000)])
        still_live = int(await redis.zcard(LIVE))
    finally:
        await db.close()
        await redis.aclose()
    return {
        "past_sales": past,
        "events_in_database": events,
        "rows_in_database": rows,
        "outbox_streams_in_redis": streams,
        "live_events": still_live,
    }


async def settle(state: StackState) -> None:
    """The stores at rest (see the module): their maintenance done, not racing a sale."""
    db = await asyncpg.connect(state.database_url)
    try:
        await db.execute("VACUUM (ANALYZE) coupons, coupon_issuances, audit_log")
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
            await db.execute("CHECKPOINT")
    finally:
        await db.close()
    redis = Redis.from_url(state.redis_url, decode_responses=True)
    try:
        with contextlib.suppress(ResponseError):  # one is running already: wait for it
            await redis.bgrewriteaof()
        deadline = time.monotonic() + _DEADLINE_S
        while True:
            info: Any = await redis.info("persistence")
            busy = info.get("aof_rewrite_in_progress") or info.get("aof_rewrite_scheduled")
            if not busy or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.2)
    finally:
        await redis.aclose()


def _cpu_cost(sale: dict[str, Any]) -> float:
    """CPU seconds of the stack's processes per 1000 wins, all of them together."""
    return float(sum(sale["cpu_s_per_1000_wins"].values()))


def main() -> None:
    args = arguments()
    env = {"COUPONRUSH_LIVE_LINGER_S": str(args.linger)}
    with bench_stack(args.workers, **env) as (stack, state):
        asyncio.run(settle(state))
        first = sale(stack, state, args, "first")
        print(f"creating {args.past:,} past sales …", flush=True)
        took = asyncio.run(past_sales(state, args.past))
        season = asyncio.run(until_retired(state, args.past, wait=args.linger < _CONTROL_S))
        print(f"  {args.past:,} past sales in {took:.0f} s; {season}", flush=True)
        asyncio.run(settle(state))
        after = sale(stack, state, args, "after")
    ratios = {
        "issuing_rate": round(after["issuing_rate"] / first["issuing_rate"], 3),
        "last_row_lag": round(first["last_row_lag_s"] / max(after["last_row_lag_s"], 1e-3), 3),
        "quiet_row_lag": round(first["quiet_row_lag_s"] / max(after["quiet_row_lag_s"], 1e-3), 3),
        # Wins per CPU second of the stack's own processes: what the other load of a shared
        # machine does not move (it takes CPU away, it does not make a win cost more).
        "wins_per_cpu_s": round(_cpu_cost(first) / max(_cpu_cost(after), 1e-9), 3),
    }
    met = {k: ratios[k] >= TARGET for k in ("issuing_rate", "last_row_lag")}
    for name, first_cpu in first["cpu_s_per_1000_wins"].items():
        now = after["cpu_s_per_1000_wins"].get(name, 0.0)
        print(f"cpu s per 1000 wins, {name}: first {first_cpu:.3f}, new {now:.3f}")
    for key, value in ratios.items():
        verdict = (
            f"target >= {TARGET}: {'met' if met[key] else 'MISSED'}" if key in met else "no target"
        )
        print(f"{key}: {value:.2f} of the first sale ({verdict})")
    doc = {
        "linger_s": args.linger,
        "seconds": args.seconds,
        "connections": args.connections,
        "first_sale": first,
        "season": {**season, "seconds_to_create": round(took, 1)},
        "new_sale": after,
        "ratios": ratios,
        "target": TARGET,
        "targets_met": met,
    }
    print(f"written: {write_result('season', doc, args.out)}")


if __name__ == "__main__":
    main()
