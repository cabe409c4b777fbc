"""Persistence benchmark: rows/s into PostgreSQL and win-to-row lag, stream and Kafka mode.

``python -m bench.persistence.run``: starts its own Redis, PostgreSQL, Apache Kafka broker and
pipeline processes; wins come from issue.lua itself (pipelined), so only the pipeline is
measured.
Lag = persisted_at (the insert's now()) - issued_at.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from redis.asyncio import Redis

from bench.persistence.servers import Servers, servers
from couponrush.core.event import Event
from couponrush.db.repository import Repository
from couponrush.store.events import EventStore
from couponrush.store.keys import event_keys
from couponrush.store.scripts import Scripts, register
from couponrush.web.events import EventService

RESULTS = Path(__file__).resolve().parent.parent / "results"
TARGET_LAST_S, TARGET_RPS = 1.0, 20_000.0


async def wait_for(db: Any, sql: str, event_id: str, n: int, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while await db.fetchval(sql, event_id) < n:
        if time.monotonic() > deadline:
            raise SystemExit(f"{event_id}: not {n} rows within {timeout_s} s")
        await asyncio.sleep(0.01)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(db: Any, event_id: str, n: int, timeout_s: float) -> dict[str, float]:
    sql = "SELECT count(*) FROM coupon_issuances WHERE event_id = $1 AND slot > 1"
    await wait_for(db, sql, event_id, n, timeout_s)
    rows = await db.fetch(
        "SELECT slot, issued_at, persisted_at FROM coupon_issuances "
        "WHERE event_id = $1 AND slot > 1",
        event_id,
    )
    lags = [(r["persisted_at"] - r["issued_at"]).total_seconds() for r in rows]
    newest = max(rows, key=lambda r: r["slot"])  # the last win Redis accepted
    first = min(r["issued_at"] for r in rows)
    last = max(r["persisted_at"] for r in rows)
    span = max((last - first).total_seconds(), 1e-6)
    return {
        "wins": n,
        "rows_per_s": n / span,
        "last_row_after_first_win_s": span,
        "last_win_to_row_s": (newest["persisted_at"] - newest["issued_at"]).total_seconds(),
        "lag_p50_s": percentile(lags, 0.5),
        "lag_p99_s": percentile(lags, 0.99),
        "lag_max_s": max(lags),
    }


def start_pipeline(srv: Servers, mode: str, secret: str) -> list[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUPONRUSH_")}
    env.update(
        COUPONRUSH_REDIS_URL=srv.redis_url,
        COUPONRUSH_DATABASE_URL=srv.database_url,
        COUPONRUSH_COUPON_SECRET=secret,
        COUPONRUSH_QUEUE=mode,
        COUPONRUSH_KAFKA_BOOTSTRAP=srv.kafka_bootstrap,
        COUPONRUSH_LOG_LEVEL="warning",
        COUPONRUSH_CONSUMER_BATCH="2000",
        COUPONRUSH_CONSUMER_BLOCK_MS="20",
        COUPONRUSH_KAFKA_REPLICATION_FACTOR="1",
        COUPONRUSH_KAFKA_MIN_INSYNC_REPLICAS="1",
    )
    roles = ["consume", "relay"] if mode == "kafka" else ["consume"]
    cli = [sys.executable, "-m", "couponrush"]
    return [subprocess.Popen([*cli, role], env=env) for role in roles]


async def scenario(
    srv: Servers, mode: str, n: int, redis: Redis, db: Any, scripts: Scripts
) -> dict[str, float]:
    event_id = f"bench-{mode}-{n}-{secrets.token_hex(2)}"
    event = Event(event_id, event_id, n + 1, None, None)
    await EventService(EventStore(redis, scripts), Repository(db)).create(event)
    # One win ahead, persisted before the timing starts: the consumer has grouped the
    # event's stream and, in Kafka mode, joined its group (the first join is slow).
    await issue_all_range(redis, scripts, event_id, 0, 1)
    await wait_for(db, "SELECT count(*) FROM coupon_issuances WHERE event_id = $1", event_id, 1)
    await issue_all_range(redis, scripts, event_id, 1, n + 1)
    return await measure(db, event_id, n, timeout_s=120)


async def issue_all_range(redis: Redis, scripts: Scripts, event_id: str, lo: int, hi: int) -> None:
    """Users lo..hi-1 win, 200 to a run of issue.lua (as an app worker's batch), 2,000 to
    a pipeline; no per-user bucket (rate "0")."""
    keys = event_keys(event_id).issue_keys
    for start in range(lo, hi, 2000):
        async with redis.pipeline(transaction=False) as pipe:
            for first in range(start, min(hi, start + 2000), 200):
                users = range(first, min(hi, start + 2000, first + 200))
                args = [a for i in users for a in (f"user-{i:07d}", f"r{i}")]
                pipe.evalsha(scripts.issue.sha, len(keys), *keys, "0", "1", "all", *args)
            await pipe.execute()


async def bench(srv: Servers, modes: list[str], sizes: list[int]) -> list[dict[str, Any]]:
    secret = secrets.token_urlsafe(32)
    redis = Redis.from_url(srv.redis_url, decode_responses=True)
    scripts = Scripts.from_package()
    await register(redis, scripts)
    db = await asyncpg.create_pool(srv.database_url, min_size=1, max_size=2)
    out = []
    try:
        for mode in modes:
            # A new relay group starts from each stream's first entry: without a clean
            # Redis, Kafka mode would first re-relay the stream mode's wins.
            await redis.flushdb()
            await register(redis, scripts)
            workers = start_pipeline(srv, mode, secret)
            try:
                for n in sizes:
                    result = await scenario(srv, mode, n, redis, db, scripts)
                    out.append({"mode": mode, **result})
            finally:
                for proc in workers:
                    proc.terminate()
                    proc.wait(timeout=20)
    finally:
        await db.close()
        await redis.aclose()
    return out


def table(results: list[dict[str, Any]]) -> str:
    head = f"{'mode':<7}{'wins':>8}{'rows/s':>10}{'span(s)':>9}{'last win(s)':>12}"
    lines = [head + f"{'p50(s)':>8}{'p99(s)':>8}{'max(s)':>8}"]
    for r in results:
        lines.append(
            f"{r['mode']:<7}{r['wins']:>8}{r['rows_per_s']:>10.0f}"
            f"{r['last_row_after_first_win_s']:>9.3f}{r['last_win_to_row_s']:>12.3f}"
            f"{r['lag_p50_s']:>8.3f}{r['lag_p99_s']:>8.3f}{r['lag_max_s']:>8.3f}"
        )
    return "\n".join(lines)


def ratios(results: list[dict[str, Any]]) -> list[str]:
    """Kafka mode against stream mode, the ceiling measured in the same run, per size."""
    by = {(r["mode"], r["wins"]): r for r in results}
    out = []
    for (mode, wins), r in by.items():
        ceiling = by.get(("stream", wins))
        if mode == "kafka" and ceiling:
            share = r["rows_per_s"] / ceiling["rows_per_s"]
            out.append(f"kafka / stream, {wins:,} wins: {share:.2f} of stream mode's rows/s")
    return out


def verdicts(results: list[dict[str, Any]]) -> list[str]:
    out = []
    for r in results:
        if r["wins"] <= 1000:
            ok, what = r["lag_max_s"] <= TARGET_LAST_S, f"last win in <= {TARGET_LAST_S:g} s"
        else:
            ok, what = r["rows_per_s"] >= TARGET_RPS, f">= {TARGET_RPS:,.0f} rows/s"
        out.append(f"{r['mode']} {r['wins']}: {what}: {'met' if ok else 'MISSED'}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,100000", help="wins per event, comma-separated")
    parser.add_argument("--modes", default="stream,kafka", help="stream and/or kafka")
    args = parser.parse_args()
    with servers() as srv:
        results = asyncio.run(
            bench(srv, args.modes.split(","), [int(s) for s in args.sizes.split(",")])
        )
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"persistence-{stamp}.json"
    body = {
        "results": results,
        "targets": {"last_of_1000_s": TARGET_LAST_S, "rows_per_s": TARGET_RPS},
    }
    path.write_text(json.dumps(body, indent=2))
    print(table(results))
    for line in [*ratios(results), *verdicts(results)]:
        print(line)
    print(f"written: {path}")


if __name__ == "__main__":
    main()
