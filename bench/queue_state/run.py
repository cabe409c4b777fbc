"""bench/queue_state: the cost of a shuffled opening's waiting clients at the gateway.

    .venv/bin/python -m bench.queue_state.run [--seconds 10] [--connections 128]

Every request is a waiting client's poll of GET /v1/events/{E}/queue/state, the one
document all of them read (docs/fair-opening.md). In one run:
(a) nginx alone answering the same document as a static 200: the ceiling;
(b) the gateway answering it from its one-second cache (about one request a second
    reaches an app worker);
(c) the gateway's sold-out edge answering a POST .../issue 410 (bench.edge's (b)), what a
    client of a sold-out first-come-first-served sale costs.
Throughput as ratios to (a), and the CPU time the serving processes spent per answer.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from bench.ceilings import static_nginx
from bench.common import WrkResult, arguments, bench_stack, sell_out, write_result
from bench.edge.run import answered_at_edge, measured, pids_of
from couponrush.client import Client
from couponrush.settings import Settings
from couponrush.stack.ready import wait_until

QUEUED, SOLD = "bench-queue", "bench-queue-sold"
ENROLLED = 1_000


def _shuffled(url: str, token: str) -> None:
    """A shuffled sale with a pre-queue of ENROLLED, open for a long while after."""
    with Client(url, admin_token=token) as sdk:
        starts = datetime.now(UTC) + timedelta(seconds=3)
        sdk.create_event(QUEUED, 1_000_000, starts_at=starts, opening="shuffled")
        for i in range(ENROLLED):
            sdk.join_queue(QUEUED, f"waiting-{i:05d}")
        sdk.create_event(SOLD, 1_000)


def main() -> None:
    args = arguments(__doc__, Settings().workers)
    rows: dict[str, Any] = {}
    with bench_stack(args.workers, COUPONRUSH_GATEWAY_ACCESS_LOG="false") as (stack, state):
        _shuffled(state.url, state.admin_token)
        sell_out(state.url, SOLD, 1_000)
        state_url = f"{state.url}/v1/events/{QUEUED}/queue/state"
        wait_until(lambda: httpx.get(state_url, timeout=5).json()["seed"], "the opening", 20)
        issue_url = f"{state.url}/v1/events/{SOLD}/issue"
        wait_until(lambda: answered_at_edge(issue_url), "the edge", 20)
        gateway, apps = pids_of(stack, "gateway"), pids_of(stack, "app-")
        document = httpx.get(state_url, timeout=5).text
        print("phase state: the gateway's cache answers the state document", flush=True)
        rows["state"] = measured(state_url, gateway + apps, args, script=None)
        print("phase soldout: the gateway's edge answers a 410", flush=True)
        rows["soldout"] = measured(issue_url, gateway + apps, args)
    with static_nginx(200, document, "application/json", own_session=True) as (url, pid):
        print("phase static: nginx returns the same document", flush=True)
        rows["static"] = measured(f"{url}/", [pid], args, script=None)
    report(rows, args, json.loads(document))


def report(rows: dict[str, Any], args: Any, document: dict[str, Any]) -> None:
    def rps(phase: str) -> float:
        result: WrkResult = rows[phase]["wrk"]
        return result.rps

    ratios = {p: round(rps(p) / rps("static"), 3) for p in ("state", "soldout")}
    ratios["state_over_soldout"] = round(rps("state") / rps("soldout"), 3)
    cpu = {p: rows[p]["cpu_us_per_answer"] for p in ("static", "state", "soldout")}
    for phase in ("static", "state", "soldout"):
        print(f"{phase:8} {rps(phase):>10,.0f} req/s   {cpu[phase]:>7.2f} CPU-us per answer")
    print("throughput over static: " + ", ".join(f"{k} {v}" for k, v in ratios.items()))
    doc = {
        "workers": args.workers,
        "seconds": args.seconds,
        "connections": args.connections,
        "enrolled": ENROLLED,
        "document_bytes": len(json.dumps(document)),
        "results": rows,
        "rps_ratios": ratios,
        "cpu_us_per_answer": cpu,
    }
    print(f"written: {write_result('queue_state', doc, args.out)}")


if __name__ == "__main__":
    main()
