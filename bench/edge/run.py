"""bench/edge: the sold-out answer at the gateway's edge, against its ceiling and the app.

    .venv/bin/python -m bench.edge.run [--seconds 10] [--connections 128]

Every request is a new user's POST for an event that has sold out. In one run:
(a) nginx alone answering a static 410 with the same body: the ceiling;
(b) the gateway's Lua edge answering it (docs/gateway.md);
(c) the same gateway with the edge off: each request passed to an app worker, which
    answers from its sold-out cache.
Throughput as ratios to (a), and the CPU time the serving processes spent per answer
(the steadier figure on a shared machine).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench.ceilings import static_nginx
from bench.common import (
    POST_LUA,
    WrkResult,
    arguments,
    bench_stack,
    cpu_seconds,
    create_event,
    sell_out,
    write_result,
    wrk,
)
from couponrush.settings import Settings
from couponrush.stack.local import Stack
from couponrush.stack.ready import wait_until

EVENT = "bench-edge"


def measured(
    url: str, pids: list[int], args: Any, script: Path | None = POST_LUA
) -> dict[str, Any]:
    """wrk at ``url`` (``script``: its requests; None: GET) and the CPU the ``pids`` spent
    per answer, in microseconds."""
    before = cpu_seconds(pids)
    result = wrk(url, args.seconds, args.connections, args.threads, script)
    spent = cpu_seconds(pids) - before
    return {"wrk": result, "cpu_us_per_answer": round(spent * 1e6 / max(1, result.requests), 2)}


@contextmanager
def static_410(body: str) -> Iterator[tuple[str, list[int]]]:
    """nginx answering the edge's 410 body (in a session of its own, as the stack runs)."""
    with static_nginx(410, body, "application/problem+json", own_session=True) as (url, pid):
        yield f"{url}/v1/events/{EVENT}/issue", [pid]


def pids_of(stack: Stack, prefix: str) -> list[int]:
    return [int(p["pid"]) for p in stack.processes() if p["name"].startswith(prefix) and p["pid"]]


def answered_at_edge(url: str) -> bool:
    answer = httpx.post(url, json={"user_id": f"probe-{os.urandom(4).hex()}"}, timeout=5)
    return bool(answer.headers.get("x-rejected-by") == "gateway")


def edge_off() -> None:
    """Reload the running gateway with the edge off."""
    os.environ["COUPONRUSH_EDGE_ANSWERS"] = "false"
    try:
        Stack(Settings()).up()
    finally:
        del os.environ["COUPONRUSH_EDGE_ANSWERS"]


def main() -> None:
    args = arguments(__doc__, Settings().workers)
    rows: dict[str, Any] = {}
    with bench_stack(args.workers, COUPONRUSH_GATEWAY_ACCESS_LOG="false") as (stack, state):
        create_event(state.url, state.admin_token, EVENT, 1_000)
        sell_out(state.url, EVENT, 1_000)
        url = f"{state.url}/v1/events/{EVENT}/issue"
        wait_until(lambda: answered_at_edge(url), "the edge", 20)
        gateway, apps = pids_of(stack, "gateway"), pids_of(stack, "app-")
        print("phase edge: the gateway answers", flush=True)
        rows["edge"] = measured(url, gateway, args)
        body = httpx.post(url, json={"user_id": "one-more"}, timeout=5).text
        edge_off()
        wait_until(lambda: not answered_at_edge(url), "the edge to go off", 20)
        print("phase app: passed to the app workers", flush=True)
        rows["app"] = measured(url, gateway + apps, args)
    with static_410(body) as (static_url, static_pids):
        print("phase static: nginx returns the same 410", flush=True)
        rows["static"] = measured(static_url, static_pids, args)
    report(rows, args)


def report(rows: dict[str, Any], args: Any) -> None:
    def rps(phase: str) -> float:
        result: WrkResult = rows[phase]["wrk"]
        return result.rps

    ratios = {p: round(rps(p) / rps("static"), 3) for p in ("edge", "app")}
    ratios["edge_over_app"] = round(rps("edge") / rps("app"), 2)
    cpu = {p: rows[p]["cpu_us_per_answer"] for p in ("static", "edge", "app")}
    for phase in ("static", "edge", "app"):
        print(f"{phase:7} {rps(phase):>10,.0f} req/s   {cpu[phase]:>7.2f} CPU-us per answer")
    print("throughput over static: " + ", ".join(f"{k} {v}" for k, v in ratios.items()))
    doc = {
        "workers": args.workers,
        "seconds": args.seconds,
        "connections": args.connections,
        "results": rows,
        "rps_ratios": ratios,
        "cpu_us_per_answer": cpu,
    }
    print(f"written: {write_result('edge', doc, args.out)}")


if __name__ == "__main__":
    main()
