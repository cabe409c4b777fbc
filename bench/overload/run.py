"""bench/overload: goodput under overload, with the gateway's global request-rate bound.

    .venv/bin/python -m bench.overload.run [--seconds 10] [--factor 5] [--rate N]

On an event that cannot sell out, every request a new user, through the gateway:
(a) alone: issuing as fast as the stack takes it (closed loop, wrk, no rate bound);
(b) overload: arrivals at FACTOR x (a)'s rate on a schedule (bench/overload/paced.lua),
    whatever happens to earlier ones; the global rate bound sized from (a): its wins a
    second per app worker (or --rate);
(c) the same overload with the bound off: only max_conns sheds;
(d) refusals alone: a bound of one request a second per worker and a closed loop, so
    nearly every answer is the bound's 503.
Goodput: wins per second under overload over (a)'s; target >= 0.6 with the bound, in a run
whose generator really sent at least 0.9 x FACTOR of (a)'s rate (offered_factor). And the
gateway's CPU per refusal, read from /proc: its CPU in the phase less its cost per win in
(a) times the wins, over the refusals. In (b) the Lua bound answers the 503 itself; in (c)
nginx refuses at max_conns through its error page, the way the bound's 503 went before.

The consumer is paused meanwhile (the wins of one phase must not be written during the
next). --pin generator keeps wrk on the first CPU and the stack on the others; --pin tiers
keeps wrk and the gateway on the first CPU and the app workers and Redis on the others,
as a deployment runs its gateway tier on machines of its own: then goodput says what the
global bound leaves the app tier, apart from what shedding costs the gateway tier.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx

from bench.common import (
    WrkResult,
    arguments,
    bench_stack,
    cpu_seconds,
    create_event,
    need,
    parse_wrk,
    pin,
    write_result,
    wrk,
)
from couponrush.settings import Settings
from couponrush.stack.local import Stack

PACED = Path(__file__).with_name("paced.lua")
EVENT = "bench-overload"
TARGET = 0.6


def pin_stack(stack: Stack, mode: str) -> None:
    """wrk (and with ``tiers`` the gateway) on CPU 0, the rest of the stack on the others."""
    rest = set(range(1, os.cpu_count() or 1))
    if mode == "none" or not rest:
        return
    running = [p for p in stack.processes() if p["pid"]]
    front = [int(p["pid"]) for p in running if mode == "tiers" and p["name"] == "gateway"]
    pin([int(p["pid"]) for p in running if int(p["pid"]) not in front], rest)
    pin(front, {0})


def paced(url: str, args: argparse.Namespace, rate: float) -> dict[str, Any]:
    """Arrivals at ``rate`` per second for ``args.seconds``: answers by status."""
    connections = args.overload_connections
    argv = [
        need("wrk"),
        f"-t{args.threads}",
        f"-c{connections}",
        f"-d{args.seconds}s",
        "--latency",
        "-s",
        str(PACED),
        url,
        "--",
        str(rate / args.threads),
    ]
    argv = ["taskset", "-c", "0", *argv] if args.pin != "none" else argv
    out = subprocess.run(
        argv, capture_output=True, text=True, timeout=args.seconds + 60, check=True
    ).stdout
    missed = int(re.search(r"^missed (\d+)$", out, re.M).group(1))  # type: ignore[union-attr]
    result = parse_wrk(out)
    return {
        "scheduled_per_s": round(rate),
        "sent_per_s": round(result.requests / args.seconds),
        "missed": missed,
        "wins_per_s": round(wins(result) / args.seconds),
        "refused": result.non_2xx,
        "p50_ms": result.p50_ms,
        "p99_ms": result.p99_ms,
        "connections": connections,
    }


def gateway_pids(stack: Stack) -> list[int]:
    return [int(p["pid"]) for p in stack.processes() if p["name"] == "gateway" and p["pid"]]


def per_refusal_us(phase: dict[str, Any], spent_s: float, win_us: float, seconds: int) -> float:
    """The gateway's CPU per refusal: what it spent, less what its wins cost at (a)'s rate."""
    wins_cpu_us: float = phase["wins_per_s"] * seconds * win_us
    refused: int = phase["refused"]
    return round((spent_s * 1e6 - wins_cpu_us) / max(1, refused), 2)


def slowest_feed_poll_s(gateway_url: str) -> float:
    """The slowest poll of the app's sold-out feed so far (the edge learns through it, from
    the same app workers the overload saturates)."""
    text = httpx.get(f"{gateway_url}/gateway/metrics", timeout=5).text
    found = re.search(r"^couponrush_gateway_edge_poll_slowest_seconds (\S+)$", text, re.M)
    return float(found.group(1)) if found else -1.0


def measured_paced(
    stack: Stack, url: str, args: argparse.Namespace, rate: float, win_us: float
) -> dict[str, Any]:
    before = cpu_seconds(gateway_pids(stack))
    phase = paced(url, args, rate)
    spent = cpu_seconds(gateway_pids(stack)) - before
    phase["gateway_us_per_refusal"] = per_refusal_us(phase, spent, win_us, args.seconds)
    return phase


def refusals_only(
    stack: Stack, url: str, args: argparse.Namespace, cpus: str | None
) -> dict[str, Any]:
    """The gateway refusing as fast as wrk sends: its CPU per refusal, with no wins to
    subtract (a bound of one request a second per worker)."""
    before = cpu_seconds(gateway_pids(stack))
    result = wrk(url, args.seconds, args.connections, args.threads, cpus=cpus)
    spent = cpu_seconds(gateway_pids(stack)) - before
    return {
        "refused_per_s": round(result.non_2xx / args.seconds),
        "gateway_us_per_refusal": round(spent * 1e6 / max(1, result.non_2xx), 2),
    }


def wins(result: WrkResult) -> int:
    """Every 2xx answer is a win: the event cannot sell out, and each user is new."""
    return result.requests - result.non_2xx


def bound(rate: int, pinned: str) -> None:
    """Reload the running gateway with worker_rate_per_s ``rate`` (0: no bound)."""
    os.environ["COUPONRUSH_WORKER_RATE_PER_S"] = str(rate)
    stack = Stack(Settings())
    stack.up()
    pin_stack(stack, pinned)


def main() -> None:
    args = arguments(__doc__, Settings().workers, extra=_options)
    # The capacity bounds as they are by default (the other benchmarks raise max_conns).
    max_conns = str(Settings.model_fields["worker_max_conns"].default)
    with bench_stack(
        args.workers, COUPONRUSH_WORKER_MAX_CONNS=max_conns, COUPONRUSH_GATEWAY_ACCESS_LOG="false"
    ) as (stack, state):
        pin_stack(stack, args.pin)
        stack.supervisor.signal("consumer", "STOP")
        create_event(state.url, state.admin_token, EVENT, 10_000_000)
        url = f"{state.url}/v1/events/{EVENT}/issue"
        print("phase alone: issuing, closed loop, no rate bound", flush=True)
        cpus = "0" if args.pin != "none" else None
        wrk(url, 1, args.connections, args.threads, cpus=cpus)  # warm-up
        before = cpu_seconds(gateway_pids(stack))
        alone = wrk(url, args.seconds, args.connections, args.threads, cpus=cpus)
        win_us = (cpu_seconds(gateway_pids(stack)) - before) * 1e6 / max(1, wins(alone))
        wins_alone = wins(alone) / args.seconds
        # Sized from the capacity just measured, unless --rate says otherwise.
        rate = args.rate or round(wins_alone / args.workers)
        offered = args.factor * wins_alone
        bound(rate, args.pin)
        print(f"phase bounded: {offered:,.0f} arrivals/s, bound {rate}/s a worker", flush=True)
        bounded = measured_paced(stack, url, args, offered, win_us)
        bounded["slowest_feed_poll_s"] = slowest_feed_poll_s(state.url)
        bound(0, args.pin)
        print(f"phase unbounded: {offered:,.0f} arrivals/s, no rate bound", flush=True)
        unbounded = measured_paced(stack, url, args, offered, win_us)
        unbounded["slowest_feed_poll_s"] = slowest_feed_poll_s(state.url)
        print("phase refusals: a bound of 1/s, closed loop: nearly every answer a 503", flush=True)
        bound(1, args.pin)
        refusals = refusals_only(stack, url, args, cpus)
        stack.supervisor.signal("consumer", "CONT")
    phases = {"bounded": bounded, "unbounded": unbounded, "refusals_only": refusals}
    doc = {
        "workers": args.workers,
        "seconds": args.seconds,
        "factor": args.factor,
        "pinned": args.pin,
        "worker_rate_per_s": rate,
        "alone": alone,
        "wins_alone_per_s": round(wins_alone),
        "gateway_us_per_win": round(win_us, 2),
        **phases,
    }
    report(doc, wins_alone, args.out)


def report(doc: dict[str, Any], wins_alone: float, out: Path | None) -> None:
    """Goodput and the gateway's CPU per refusal of each phase, printed and written."""
    bounded, unbounded, refusals = doc["bounded"], doc["unbounded"], doc["refusals_only"]
    goodput = {
        "bounded": round(bounded["wins_per_s"] / wins_alone, 3),
        "unbounded": round(unbounded["wins_per_s"] / wins_alone, 3),
    }
    refusal = {
        p: doc[p]["gateway_us_per_refusal"] for p in ("bounded", "unbounded", "refusals_only")
    }
    # What the generator really sent, over the rate alone: on a small box it may fall far
    # short of the factor asked for, and then the run shows no overload at all.
    offered = round(bounded["sent_per_s"] / wins_alone, 2)
    overloaded = offered >= 0.9 * doc["factor"]
    print(
        f"alone: {wins_alone:,.0f} wins/s, gateway {doc['gateway_us_per_win']:.1f} µs per "
        f"win; overload x{doc['factor']}: bounded {bounded['wins_per_s']:,} wins/s "
        f"({goodput['bounded']}), {refusal['bounded']} µs per refusal; unbounded "
        f"{unbounded['wins_per_s']:,} wins/s ({goodput['unbounded']}), "
        f"{refusal['unbounded']} µs per refusal; refusing alone "
        f"{refusals['refused_per_s']:,}/s at {refusal['refusals_only']} µs each"
    )
    if not overloaded:
        print(
            f"NOT AN OVERLOAD: the generator sent {offered}x the rate alone, not "
            f"{doc['factor']}x (it is the bottleneck here; give it cores of its own)"
        )
    doc |= {
        "goodput": goodput,
        "gateway_us_per_refusal": refusal,
        "offered_factor": offered,
        "target": TARGET,
        # Only a run that offered the overload can meet the target.
        "target_met": overloaded and goodput["bounded"] >= TARGET,
    }
    print(f"written: {write_result('overload', doc, out)}")


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--factor", type=float, default=5.0, help="arrivals over capacity")
    parser.add_argument(
        "--rate",
        type=int,
        default=0,
        help="worker_rate_per_s to test (default: the measured capacity)",
    )
    parser.add_argument(
        "--pin",
        choices=("none", "generator", "tiers"),
        default="none",
        help="CPU 0 for wrk (generator) or for wrk and the gateway (tiers), the rest for "
        "the others",
    )
    parser.add_argument("--overload-connections", type=int, default=2048)


if __name__ == "__main__":
    main()
