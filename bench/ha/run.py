"""bench/ha: issuing through the gateway in each Redis mode, with WAIT on and off, as
ratios to standalone in the same run; and a failover under load in each mode with replicas.

    .venv/bin/python -m bench.ha.run [--seconds 10] [--connections 128]

One stack per case (standalone; Sentinel and Cluster, each with two replicas per primary,
with WAIT off, WAIT 1 (the default before WAIT on every replica) and WAIT 2 (every replica,
the default now)): wrk posts a new user per request on an event it cannot exhaust, twice,
and the better phase counts; its non-2xx answers are the 503s.
Then, with replicas, clients issue for 10 s while the replicas of the event's primary lag
for 0.5 s and that primary is killed (bench/ha/failover.py); the stack's healer starts it
again once a replica took over.
"""

from __future__ import annotations

import asyncio
from typing import Any

from rich.console import Console

from bench.common import arguments, bench_stack, create_event, write_result, wrk
from bench.ha import failover
from bench.issue_path.run import show
from couponrush.settings import Settings

# (mode, REDIS_WAIT_REPLICAS): WAIT off, on for one replica of two, and on for every
# replica (the default with replicas).
CASES = [("standalone", 0), ("sentinel", 0), ("sentinel", 1), ("sentinel", 2), ("cluster", 0),
         ("cluster", 1), ("cluster", 2)]  # fmt: skip
REPLICATED = ("sentinel", "cluster")


def main() -> None:
    args = arguments(__doc__, Settings().workers)
    rows: dict[str, Any] = {}
    failovers: dict[str, Any] = {}
    for mode, wait in CASES:
        name = f"{mode}_wait_{wait}"
        env = {"COUPONRUSH_REDIS_MODE": mode, "COUPONRUSH_REDIS_WAIT_REPLICAS": str(wait)}
        with bench_stack(args.workers, **env) as (stack, state):
            create_event(state.url, state.admin_token, "ha-issuing", 10_000_000)
            url = f"{state.url}/v1/events/ha-issuing/issue"
            print(f"{name}: wrk {args.seconds} s through the gateway", flush=True)
            wrk(url, 1, args.connections, args.threads)  # warm-up
            # The better of two phases: the box is shared, and a neighbour's burst should
            # not decide a ratio.
            runs = [wrk(url, args.seconds, args.connections, args.threads) for _ in range(2)]
            rows[name] = max(runs, key=lambda r: r.rps)
            if mode != "standalone":
                create_event(state.url, state.admin_token, "ha-failover", 10_000_000)
                print(f"{name}: failover under load", flush=True)
                failovers[name] = asyncio.run(failover.measure(stack, state, "ha-failover"))
                print(f"  {failovers[name]}", flush=True)
    base = rows["standalone_wait_0"].rps
    ratios = {name: round(r.rps / base, 3) for name, r in rows.items()}
    show("bench/ha (issuing through the gateway)", rows, Console(width=120), {})
    print("over standalone: " + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()))
    print("503s under wrk: " + ", ".join(f"{k} {r.non_2xx}" for k, r in rows.items()))
    cost = {m: round(rows[f"{m}_wait_2"].rps / rows[f"{m}_wait_1"].rps, 3) for m in REPLICATED}
    print(
        "WAIT on every replica over WAIT 1: " + ", ".join(f"{k} {v:.2f}" for k, v in cost.items())
    )
    for name, found in failovers.items():
        print(f"failover {name}: {found}")
    load = {"seconds": failover.LOAD_S, "replica_lag_s": failover.LAG_S}
    doc = {
        "workers": args.workers,
        "seconds": args.seconds,
        "connections": args.connections,
        "results": rows,
        "over_standalone": ratios,
        "every_replica_over_wait_1": cost,
        "failover": failovers,
        "failover_load": load,
    }
    print(f"written: {write_result('ha', doc, args.out)}")


if __name__ == "__main__":
    main()
