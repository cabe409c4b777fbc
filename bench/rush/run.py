"""bench/rush: the million-client rush, against the ceiling of its own generator.

    .venv/bin/python -m bench.rush.run [--clients 1000000] [--stock 1000]

In one run, every client a distinct user arriving at the opening second:
(a) the rush generator against nginx answering the app's 410 body as a static answer:
    the most this generator gets out of this machine (the ceiling), measured before and
    after the stack's phases, the better of the two taken (a shared machine's other load
    only ever lowers it);
(b) the whole stack (gateway, app workers, Redis, PostgreSQL, consumer) with the sold-out
    edge on, then (c) the same with the edge off (every request to the app workers).
Per phase: answers per second, client wait (arrival to final answer) p50/p99/max, the time
to sell out and wins per second while selling; (b) and (c) as ratios to (a). The sales are
checked against Redis and the database (rows = winners, reconcile clean).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console

from bench.common import bench_stack, write_result
from bench.edge.run import edge_off, static_410
from couponrush.rush import command, runner
from couponrush.rush.plan import RushPlan
from couponrush.rush.report import goodput
from couponrush.web.problems import problem

TARGETS = {"edge_over_ceiling": 0.9}


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--clients", type=int, default=1_000_000)
    parser.add_argument("--stock", type=int, default=1_000)
    parser.add_argument("--connections", type=int, default=256)
    parser.add_argument("--processes", type=int, default=1, help="generator processes")
    parser.add_argument("--workers", type=int, default=None, help="app workers")
    parser.add_argument("--out", type=Path, help="JSON result path")
    return parser.parse_args()


def figures(merged: runner.Merged) -> dict[str, Any]:
    answered = sum(merged.statuses.values())
    wait = merged.waited
    return {
        "answers_per_s": round(answered / merged.last_final_s, 1) if merged.last_final_s else 0,
        "all_answered_after_s": round(merged.last_final_s, 2),
        "client_wait_ms": {
            "p50": wait.get_value_at_percentile(50) / 1000,
            "p99": wait.get_value_at_percentile(99) / 1000,
            "max": wait.get_max_value() / 1000,
        },
        "sold_out_after_s": merged.first_sold_out_s,
        "wins_per_s_while_selling": goodput(merged)["wins_per_s"],
        "statuses": {str(k): v for k, v in sorted(merged.statuses.items())},
    }


def ceiling(plan: RushPlan, console: Console, when: str) -> dict[str, Any]:
    body = orjson.dumps(problem(410, "sold_out", event_id=plan.event_id))
    with static_410(body.decode()) as (url, _):
        console.print(f"(a) the generator against nginx's static 410, {when}")
        return figures(runner.run(plan, url.split("/v1/")[0]))


def main() -> None:
    args, console = arguments(), Console()
    plan = RushPlan(
        event_id="bench-rush-static",
        clients=args.clients,
        stock=args.stock,
        connections=args.connections,
        processes=args.processes,
    )
    rows: dict[str, Any] = {"ceiling_before": ceiling(plan, console, "before")}
    trust = {"COUPONRUSH_TRUSTED_PROXIES": "127.0.0.1/32", "COUPONRUSH_GATEWAY_ACCESS_LOG": "false"}
    with bench_stack(args.workers, **trust) as (_, state):
        for phase, title in (
            ("edge_on", "(b) the stack, edge on"),
            ("edge_off", "(c) the stack, edge off"),
        ):
            if phase == "edge_off":
                edge_off()
            console.print(title)
            sale = plan.with_event(f"bench-rush-{phase}-{os.urandom(2).hex()}")
            merged, check, gateway = command.sale(state, sale, sale.stock, console)
            rows[phase] = {
                **figures(merged),
                "invariants_ok": check.ok,
                "breaches": check.breaches[:10],
                "gateway": gateway,
            }
    rows["ceiling_after"] = ceiling(plan, console, "after")
    rows["ceiling"] = max(
        rows["ceiling_before"], rows["ceiling_after"], key=lambda row: row["answers_per_s"]
    )
    report(rows, args, console)


def report(rows: dict[str, Any], args: argparse.Namespace, console: Console) -> None:
    top = rows["ceiling"]["answers_per_s"]
    ratios = {
        f"{p}_over_ceiling": round(rows[p]["answers_per_s"] / top, 3)
        for p in ("edge_on", "edge_off")
    }
    selling = [rows[p]["wins_per_s_while_selling"] or 0 for p in ("edge_on", "edge_off")]
    ratios["issuing_edge_on_over_off"] = round(selling[0] / max(1, selling[1]), 3)
    for phase in ("ceiling", "edge_on", "edge_off"):
        row = rows[phase]
        console.print(
            f"{phase:9} {row['answers_per_s']:>10,.0f} answers/s  all answered after "
            f"{row['all_answered_after_s']:>6.1f} s  client wait p99 "
            f"{row['client_wait_ms']['p99'] / 1000:>6.2f} s  wins/s while selling "
            f"{row['wins_per_s_while_selling'] or 0:>8,.0f}"
        )
    console.print("ratios: " + ", ".join(f"{k} {v}" for k, v in ratios.items()))
    met = {
        "edge_over_ceiling": ratios["edge_on_over_ceiling"] >= TARGETS["edge_over_ceiling"],
        "invariants": all(rows[p]["invariants_ok"] for p in ("edge_on", "edge_off")),
    }
    console.print(f"targets met: {met}")
    doc = {
        "clients": args.clients,
        "stock": args.stock,
        "connections": args.connections,
        "results": rows,
        "ratios": ratios,
        "targets": TARGETS,
        "targets_met": met,
    }
    console.print(f"written: {write_result('rush', doc, args.out)}")


if __name__ == "__main__":
    main()
