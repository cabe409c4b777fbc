"""bench/issue_path: the issue route through the gateway and straight at the app workers.

    .venv/bin/python -m bench.issue_path.run [--seconds 10] [--connections 128] [--repeat 3]

(a) issuing through the gateway (nginx, app workers, Redis; the consumer paused): an event
    the run cannot exhaust, every request a new user; the CPU time of each part per win,
    read from /proc, and the rate as a ratio to nginx serving a static 200 in the same run
    (the two alternate, --repeat times, and the medians are reported); first with the
    gateway's win lane (the default, docs/gateway.md), then, unless --lane-only, with the
    gateway reloaded without it, so that every win goes through an app worker;
(b) issuing and (c) sold out (answered from the worker's cache) straight at the workers;
and Redis running issue.lua alone (redis-benchmark), one per round trip and pipelined.
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
    cpu_seconds,
    create_event,
    sell_out,
    write_result,
    wrk,
)
from bench.cpu import PARTS, measured, median_by_key, spread, stack_parts
from couponrush.settings import Settings
from couponrush.stack.commands import app_argv
from couponrush.stack.local import Stack
from couponrush.stack.procs import free_port, spawn, stop
from couponrush.stack.ready import http_ready, wait_until
from couponrush.stack.state import StackState

TARGETS = {"issuing": 15_000.0, "sold_out": 35_000.0}
# µs of CPU per win through gateway + app + Redis, and the issuing rate over static nginx.
CPU_TARGET_US = 60.0
RATIO_TARGET = 0.2
EVENT = "bench-gateway-issuing"


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


def gateway_issuing(
    stack: Stack, state: StackState, args: argparse.Namespace, event: str = EVENT
) -> dict[str, Any]:
    """Alternating: issuing through the gateway (CPU per part per win) and static nginx."""
    create_event(state.url, state.admin_token, event, 10_000_000)
    url = f"{state.url}/v1/events/{event}/issue"
    parts = stack_parts(stack.processes())
    runs: list[dict[str, Any]] = []
    # The consumer would spend Redis's CPU on the outbox; the win's path is measured alone.
    stack.supervisor.signal("consumer", "STOP")
    try:
        wrk(url, 1, args.connections, args.threads)  # warm-up
        for i in range(args.repeat):
            print(f"phase gateway issuing {i + 1}/{args.repeat}", flush=True)
            with measured(parts) as spent:
                result = wrk(url, args.seconds, args.connections, args.threads)
            wins = result.requests - result.non_2xx
            static = static_phase(args)
            runs.append(
                {
                    "wrk": result,
                    "wins": wins,
                    "static": static,
                    "cpu_us_per_win": spent.per_answer_us(wins),
                    "ratio_to_static": round(result.rps / static["wrk"].rps, 3),
                }
            )
    finally:
        stack.supervisor.signal("consumer", "CONT")
    return {"runs": runs, "parts_pids": parts}


def static_phase(args: argparse.Namespace) -> dict[str, Any]:
    """nginx's static 200 in a session of its own, as the stack's gateway runs."""
    with ceilings.static_nginx(200, "ok", own_session=True) as (url, pid):
        before = cpu_seconds([pid])
        result = wrk(f"{url}/", args.seconds, args.connections, args.threads, script=None)
        spent = cpu_seconds([pid]) - before
    return {"wrk": result, "cpu_us_per_answer": round(spent * 1e6 / max(1, result.requests), 2)}


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
        elif isinstance(r, float):
            table.add_row(phase, f"{r:,.0f}", "", "", "", "", "", "")
    console.print(table)


def show_gateway(
    gateway: dict[str, Any], console: Console, title: str = "issuing through the gateway"
) -> dict[str, Any]:
    """The per-part table of the gateway phase; the medians over its runs."""
    runs = gateway["runs"]
    table = Table(title=f"{title}: CPU µs per win, median (min-max)")
    for column in (*PARTS, "total", "wrk", "wins/s", "static/s", "ratio"):
        table.add_column(column, justify="right")
    cells = [spread([r["cpu_us_per_win"][k] for r in runs]) for k in (*PARTS, "total")]
    table.add_row(
        *cells,
        spread([r["cpu_us_per_win"]["generator"] for r in runs]),
        spread([r["wrk"].rps for r in runs]),
        spread([r["static"]["wrk"].rps for r in runs]),
        spread([r["ratio_to_static"] * 100 for r in runs]) + " %",
    )
    console.print(table)
    cpu = median_by_key([r["cpu_us_per_win"] for r in runs])
    ratio = sorted(r["ratio_to_static"] for r in runs)[len(runs) // 2]
    total, met = cpu["total"], {}
    met["cpu_us_per_win"] = total <= CPU_TARGET_US
    met["ratio_issuing_gateway_to_static"] = ratio >= RATIO_TARGET
    print(
        f"whole path {total:.1f} µs per win (target ≤ {CPU_TARGET_US:.0f}: "
        f"{'met' if met['cpu_us_per_win'] else 'MISSED'}); issuing at {ratio:.3f} of static "
        f"(target ≥ {RATIO_TARGET}: "
        f"{'met' if met['ratio_issuing_gateway_to_static'] else 'MISSED'})"
    )
    return {
        "cpu_us_per_win": {k: cpu[k] for k in (*PARTS, "total")},
        "wrk_us_per_win": cpu["generator"],
        "ratio_issuing_gateway_to_static": ratio,
        "met": met,
    }


def through_app(stack: Stack, state: StackState, args: argparse.Namespace) -> dict[str, Any]:
    """The gateway phase again, reloaded without its win lane."""
    os.environ["COUPONRUSH_GATEWAY_WINS"] = "false"
    try:
        Stack(Settings()).up()  # re-renders the running gateway's config and reloads it
        return gateway_issuing(stack, state, args, f"{EVENT}-app")
    finally:
        os.environ.pop("COUPONRUSH_GATEWAY_WINS")


def main() -> None:
    args = arguments(__doc__, Settings().workers, extra=_options)
    rows: dict[str, Any] = {}
    env = {"COUPONRUSH_GATEWAY_ACCESS_LOG": "false", "COUPONRUSH_GATEWAY_WINS": "true"}
    with bench_stack(args.workers, **env) as (stack, state):
        gateway = gateway_issuing(stack, state, args)
        app_path = None if args.lane_only else through_app(stack, state, args)
        if not args.gateway_only:
            with direct_app(state, args.direct_workers) as url:
                rows.update(app_phases(url, state.admin_token, args))
            print("ceilings: redis-benchmark issue.lua", flush=True)
            create_event(state.url, state.admin_token, "bench-redis", 10_000_000)
            rows["redis_issue_lua"] = ceilings.redis_issue(state.redis_port, "bench-redis", 1)
            rows["redis_issue_lua_pipelined"] = ceilings.redis_issue(
                state.redis_port, "bench-redis", 32
            )
    console = Console(width=120)
    show("bench/issue_path (straight at the app workers)", rows, console)
    if app_path is not None:
        title = "issuing through the gateway without its win lane (every win through an app worker)"
        before = show_gateway(app_path, console, title)
        rows["through_app"] = {"gateway_issuing": app_path, **before}
    summary = show_gateway(gateway, console)
    met = {p: rows[p].rps >= t for p, t in TARGETS.items() if p in rows}
    rows |= {
        "gateway_issuing": gateway,
        "cpu_us_per_win": summary["cpu_us_per_win"],
        "wrk_us_per_win": summary["wrk_us_per_win"],
        "ratio_issuing_gateway_to_static": summary["ratio_issuing_gateway_to_static"],
    }
    doc = {
        "workers": args.workers,
        "direct_workers": args.direct_workers,
        "seconds": args.seconds,
        "connections": args.connections,
        "repeat": args.repeat,
        "results": rows,
        "targets": {
            **TARGETS,
            "cpu_us_per_win": CPU_TARGET_US,
            "ratio_issuing_gateway_to_static": RATIO_TARGET,
        },
        "targets_met": {**met, **summary["met"]},
    }
    print(f"written: {write_result('issue_path', doc, args.out)}")


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--repeat", type=int, default=3, help="gateway/static alternations")
    parser.add_argument(
        "--direct-workers",
        type=int,
        default=os.cpu_count() or 1,
        help="app workers of the direct phases",
    )
    parser.add_argument(
        "--gateway-only",
        action="store_true",
        help="only the gateway phases and their static ceiling",
    )
    parser.add_argument(
        "--lane-only",
        action="store_true",
        help="only with the win lane, not again through the app workers",
    )


if __name__ == "__main__":
    main()
