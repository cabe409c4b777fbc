"""bench/issue_path: the issue route straight at the app workers, with the ceilings.

    .venv/bin/python -m bench.issue_path.run [--seconds 10] [--connections 64]

(a) issuing: an event the run cannot exhaust, every request a new user;
(b) sold out: every request answered from the worker's local cache;
and, in the same run, nginx serving a static 200 and Redis running issue.lua alone.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from bench import ceilings
from bench.common import (
    WrkResult,
    arguments,
    bench_stack,
    create_event,
    sell_out,
    write_result,
    wrk,
)
from couponrush.stack.commands import app_argv
from couponrush.stack.procs import free_port, spawn, stop
from couponrush.stack.ready import http_ready, wait_until
from couponrush.stack.state import StackState

TARGETS = {"issuing": 15_000.0, "sold_out": 35_000.0}


@contextmanager
def direct_app(state: StackState, workers: int) -> Iterator[str]:
    """The app workers on one loopback port (the kernel spreads connections over them)."""
    port = free_port()
    env = {
        **os.environ,
        "COUPONRUSH_REDIS_URL": state.redis_url,
        "COUPONRUSH_ADMIN_TOKEN": state.admin_token,
        "COUPONRUSH_COUPON_SECRET": state.coupon_secret,
        "COUPONRUSH_ALLOW_UNSIGNED_USERS": "true",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    # In the benchmark's own session, like wrk and the nginx ceiling: with the kernel's
    # scheduler autogroups a session of its own would get a fixed share of the cores.
    server = spawn(app_argv("127.0.0.1", port, workers), Path(os.devnull), env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(http_ready(url), "direct app workers", 60)
        yield url
    finally:
        stop(server, timeout_s=20)


def app_phases(
    url: str, token: str, args: argparse.Namespace, tag: str = "bench"
) -> dict[str, WrkResult]:
    issuing, sold_out = f"{tag}-issuing", f"{tag}-sold-out"
    create_event(url, token, issuing, 10_000_000)
    create_event(url, token, sold_out, 1_000)
    sell_out(url, sold_out, 1_000)
    results = {}
    for phase, event in (("issuing", issuing), ("sold_out", sold_out)):
        print(f"phase {phase}: wrk {args.seconds} s, {args.connections} connections", flush=True)
        wrk(f"{url}/v1/events/{event}/issue", 1, args.connections, args.threads)  # warm-up
        results[phase] = wrk(
            f"{url}/v1/events/{event}/issue", args.seconds, args.connections, args.threads
        )
    return results


def show(
    title: str, rows: dict[str, Any], console: Console, targets: dict[str, float] = TARGETS
) -> None:
    table = Table(title=title)
    table.add_column("phase", no_wrap=True)
    for column in ("req/s", "p50 ms", "p90 ms", "p99 ms", "non-2xx", "errors", "target"):
        table.add_column(column, justify="right")
    for phase, r in rows.items():
        if isinstance(r, WrkResult):
            target = targets.get(phase)
            verdict = (
                "" if target is None else ("met" if r.rps >= target else f"MISSED ({target:,.0f})")
            )
            table.add_row(
                phase,
                f"{r.rps:,.0f}",
                f"{r.p50_ms:.2f}",
                f"{r.p90_ms:.2f}",
                f"{r.p99_ms:.2f}",
                str(r.non_2xx),
                str(r.socket_errors),
                verdict,
            )
        else:
            table.add_row(phase, f"{r:,.0f}", "", "", "", "", "", "")
    console.print(table)


def main() -> None:
    args = arguments(__doc__)
    with bench_stack(1) as (_, state):
        with direct_app(state, args.workers) as url:
            rows: dict[str, Any] = app_phases(url, state.admin_token, args)
        print("ceilings: nginx static, redis-benchmark issue.lua", flush=True)
        rows["nginx_static"] = ceilings.nginx_static(args.seconds, args.connections, args.threads)
        create_event(state.url, state.admin_token, "bench-redis", 10_000_000)
        rows["redis_issue_lua"] = ceilings.redis_issue(state.redis_port, "bench-redis", 1)
        rows["redis_issue_lua_pipelined"] = ceilings.redis_issue(
            state.redis_port, "bench-redis", 32
        )
    show("bench/issue_path (direct to the app workers)", rows, Console(width=120))
    met = {p: rows[p].rps >= t for p, t in TARGETS.items()}
    path = write_result(
        "issue_path",
        {
            "workers": args.workers,
            "seconds": args.seconds,
            "connections": args.connections,
            "results": rows,
            "targets": TARGETS,
            "targets_met": met,
        },
        args.out,
    )
    print(f"written: {path}")


if __name__ == "__main__":
    main()
