"""The report of ``couponrush rush --opening shuffled`` (rush/fair.py): DESIGN §1 checked
against Redis and the database, position against arrival time (it should be flat:
Spearman's rho near 0, the mean relative position of each tenth of the arrivals near
0.5), the figures as JSON, and a plot of position against arrival beside the admission
curve (positions admitted and coupons won over time)."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

from rich.console import Console

from couponrush.db.repository import Repository
from couponrush.rush import oracle
from couponrush.rush.verify import persisted_breaches, redis_truth
from couponrush.stack.state import StackState

DRAIN_DEADLINE_S = 60.0
PLOTTED = 5_000  # points of the scatter


async def _rows(database_url: str, event_id: str, expected: int) -> list[Any]:
    db = await Repository.connect(database_url)
    try:
        deadline = time.monotonic() + DRAIN_DEADLINE_S
        rows = await db.issuances(event_id)
        while len(rows) < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            rows = await db.issuances(event_id)
        return rows
    finally:
        await db.close()


def breaches(
    state: StackState, event_id: str, stock: int, answers: list[oracle.Answer]
) -> list[str]:
    winners, left = redis_truth(state.redis_url, event_id, state.redis_mode)
    found = oracle.check(stock, answers, winners, left, expect_sold_out=True)
    if state.database_url:
        told = [a for a in answers if a.result == "issued"]
        found += persisted_breaches(
            told, asyncio.run(_rows(state.database_url, event_id, len(winners)))
        )
    return found


def flatness(arrivals: dict[str, float], positions: dict[str, int]) -> dict[str, Any]:
    """Position against arrival: Spearman's rho and each tenth's mean relative position."""
    ranked = sorted(positions, key=lambda u: arrivals[u])
    n = len(ranked)
    d2 = sum((positions[u] - 1 - i) ** 2 for i, u in enumerate(ranked))
    rho = 1 - 6 * d2 / (n * (n * n - 1)) if n > 1 else 0.0
    tenths = [ranked[n * t // 10 : n * (t + 1) // 10] for t in range(10)]
    means = [
        round(sum(positions[u] for u in part) / len(part) / n, 4) if part else None
        for part in tenths
    ]
    bound = 4 / max(1, n - 1) ** 0.5
    return {
        "enrolled": n,
        "spearman_rho": round(rho, 5),
        "rho_bound": round(bound, 5),
        "mean_relative_position_by_arrival_tenth": means,
    }


def plot(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    arrivals, positions = result["arrivals"], result["positions"]
    shown = random.sample(sorted(positions), min(PLOTTED, len(positions)))
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    left.scatter([arrivals[u] for u in shown], [positions[u] for u in shown], s=2, alpha=0.4)
    flat = flatness(arrivals, positions)
    left.set(
        xlabel="arrival in the pre-queue window (s)",
        ylabel="position",
        title=f"position vs arrival: rho {flat['spearman_rho']}, n {flat['enrolled']:,}",
    )
    curve = result["admission_curve"]
    done = sorted(curve, key=lambda c: c["won_t_s"])  # the waves' wins, as they came in
    right.step(
        [0.0] + [c["t_s"] for c in curve],
        [0] + [c["admitted_upto"] for c in curve],
        where="post",
        label="admitted up to",
    )
    right.step(
        [0.0] + [c["won_t_s"] for c in done],
        [0] + [c["won"] for c in done],
        where="post",
        label="coupons won",
    )
    right.set(
        xlabel="seconds after the opening", ylabel="positions / coupons", title="admission curve"
    )
    right.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def write(result: dict[str, Any], found: list[str], folder: Path, console: Console) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / "fair-opening.png"
    plot(result, png)
    kept = {k: v for k, v in result.items() if k not in ("arrivals", "positions", "answers")}
    kept["position_vs_arrival"] = flatness(result["arrivals"], result["positions"])
    results = dict(Counter(a.result for a in result["answers"]))
    doc = {**kept, "results": results, "breaches": found, "invariants_hold": not found}
    (folder / "fair-opening.json").write_text(json.dumps(doc, indent=2))
    flat = kept["position_vs_arrival"]
    console.print(
        f"order verified from the revealed seed: {result['verified']} ({result['prequeue']:,}"
        f" in the pre-queue, {result['late']:,} after the opening)"
    )
    console.print(
        f"position vs arrival: Spearman rho {flat['spearman_rho']} (bound "
        f"{flat['rho_bound']}); mean relative position by arrival tenth "
        f"{flat['mean_relative_position_by_arrival_tenth']}"
    )
    console.print(f"joins by status: {result['joins_by_status']}")
    console.print(f"answers: {results}; waves: {len(result['admission_curve'])}")
    console.print("invariants hold" if not found else f"[red]{len(found)} breaches[/]: {found[:5]}")
    console.print(f"report: {folder / 'fair-opening.json'}  figure: {png}")
