"""`couponrush rush` (and `demo`): stack up, one event, many clients, the report."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from rich.console import Console

from couponrush.client import Client
from couponrush.rush import report, runner
from couponrush.rush.plan import RushPlan
from couponrush.rush.runner import Merged
from couponrush.rush.verify import Stores, Verification, verify
from couponrush.stack.local import Stack
from couponrush.stack.state import StackState


@dataclass(frozen=True)
class RushOptions:
    plan: RushPlan
    expected_stock: int
    out: Path | None
    workers: int | None


def new_event_id() -> str:
    return f"rush-{datetime.now(UTC):%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def create_event(state: StackState, event_id: str, stock: int) -> None:
    with Client(state.url, admin_token=state.admin_token) as sdk:
        sdk.create_event(event_id, stock, name=f"Flash sale {event_id}")


def gateway_counters(url: str) -> dict[str, float]:
    """The gateway's own counters (/gateway/metrics; empty where it has no Lua)."""
    from prometheus_client.parser import text_string_to_metric_families

    answer = httpx.get(f"{url}/gateway/metrics", timeout=5)
    if answer.status_code != 200:
        return {}
    names = {
        "couponrush_gateway_edge_answers_total": "edge_answers",
        "couponrush_gateway_shed_total": "shed",
    }
    found = {"lane_wins": 0.0}
    for family in text_string_to_metric_families(answer.text):
        for s in family.samples:
            if s.name in names:
                found[names[s.name]] = s.value
            elif s.name == "couponrush_gateway_lane_total" and s.labels["outcome"] == "issued":
                found["lane_wins"] = s.value
    return found


def sale(
    state: StackState, plan: RushPlan, expected_stock: int, console: Console
) -> tuple[Merged, Verification, dict[str, float]]:
    """One event, its clients through the gateway, then the check against the servers; what
    the clients saw, the check, and what the gateway answered itself."""
    create_event(state, plan.event_id, plan.stock)
    console.print(
        f"event {plan.event_id}: {plan.stock:,} coupons; {plan.clients:,} clients over "
        f"{plan.connections} connections, {plan.arrival} arrival"
    )
    started = time.monotonic()
    before = gateway_counters(state.url)
    merged = runner.run(plan, state.url)
    gateway = {k: v - before.get(k, 0) for k, v in gateway_counters(state.url).items()}
    console.print(f"run finished in {time.monotonic() - started:.1f} s; checking the servers…")
    stores = Stores(state.redis_url, state.database_url, state.coupon_secret, state.redis_mode)
    return merged, verify(plan, merged, stores, expected_stock), gateway


def run(stack: Stack, console: Console, options: RushOptions) -> bool:
    """Returns whether every invariant held."""
    plan = options.plan
    with console.status("bringing the stack up…"):
        state = stack.up(options.workers)
    console.print(f"stack at {state.url}: {state.workers} app workers behind the gateway")
    merged, check, gateway = sale(state, plan, options.expected_stock, console)
    pipeline = {
        "database_rows": check.db_rows,
        "win_to_row_lag_ms": check.lag_ms,
        "reconcile_breaches": check.reconcile,
    }
    doc = report.build(plan, merged, check, {"pipeline": pipeline, "gateway": gateway})
    folder = options.out or stack.var / "rush" / plan.event_id
    json_path, png_path = report.write(doc, folder)
    report.summary(doc, console)
    if gateway:
        console.print(
            f"gateway: {gateway['lane_wins']:,.0f} wins from its win lane, "
            f"{gateway['edge_answers']:,.0f} sold-out answers from its edge, "
            f"{gateway['shed']:,.0f} shed by its rate bound"
        )
    console.print(f"report: {json_path}  figure: {png_path}")
    return check.ok
