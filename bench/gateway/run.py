"""bench/gateway: the issue route through the nginx gateway, against the direct figures.

    .venv/bin/python -m bench.gateway.run [--seconds 10] [--connections 128]

Through the gateway (per-client limits raised so one wrk client is not throttled):
(a) issuing, (b) sold out; in the same run the same phases straight at the app
workers, nginx serving a static 200, and the cost of the gateway hop as a ratio.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console

from bench import ceilings
from bench.common import WrkResult, arguments, bench_stack, write_result
from bench.issue_path.run import app_phases, direct_app, show
from couponrush.settings import Settings

TARGETS = {"gateway_issuing": 12_000.0, "gateway_sold_out": 30_000.0}


def main() -> None:
    # The stack's default worker count, for the gateway and the direct phases alike.
    args = arguments(__doc__, Settings().workers)
    rows: dict[str, Any] = {}
    with bench_stack(args.workers) as (_, state):
        print(f"through the gateway at {state.url}", flush=True)
        for phase, result in app_phases(state.url, state.admin_token, args).items():
            rows[f"gateway_{phase}"] = result
        with direct_app(state, args.workers) as url:
            print(f"direct to the app workers at {url}", flush=True)
            for phase, result in app_phases(url, state.admin_token, args, "direct").items():
                rows[f"direct_{phase}"] = result
    print("ceiling: nginx static", flush=True)
    rows["nginx_static"] = ceilings.nginx_static(
        args.seconds, args.connections, args.threads, own_session=True
    )
    ratios = {
        phase: round(rows[f"gateway_{phase}"].rps / rows[f"direct_{phase}"].rps, 3)
        for phase in ("issuing", "sold_out")
    }
    show("bench/gateway", rows, Console(width=120), TARGETS)
    print("gateway / direct throughput: " + ", ".join(f"{k} {v:.2f}" for k, v in ratios.items()))
    met = {p: isinstance(rows[p], WrkResult) and rows[p].rps >= t for p, t in TARGETS.items()}
    doc = {
        "workers": args.workers,
        "seconds": args.seconds,
        "connections": args.connections,
        "results": rows,
        "gateway_over_direct": ratios,
        "targets": TARGETS,
        "targets_met": met,
    }
    print(f"written: {write_result('gateway', doc, args.out)}")


if __name__ == "__main__":
    main()
