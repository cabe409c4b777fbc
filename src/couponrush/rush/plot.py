"""The rush figure: throughput and wins, both latencies, outcomes per second, and a zoom on
the first seconds; the sell-out moment is marked on each panel."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

_LATENCIES = (("p50_ms", "request p50"), ("p99_ms", "request p99"),
              ("wait_p50_ms", "client wait since arrival, p50"),
              ("wait_p99_ms", "client wait since arrival, p99"))  # fmt: skip


def plot(report: dict[str, Any], path: Path) -> None:
    timeline = report["timeline"]
    seconds = [row["s"] for row in timeline]
    fig, (top, mid, low, zoom) = plt.subplots(4, 1, figsize=(10, 12))
    top.plot(seconds, [row["sent"] for row in timeline], label="requests sent")
    top.plot(seconds, [sum(row["answers"].values()) for row in timeline], label="answered")
    top.plot(seconds, [row["finals"].get("issued", 0) for row in timeline], label="wins")
    top.set_ylabel("per second")
    for key, label in _LATENCIES:
        mid.plot(seconds, [row[key] or None for row in timeline], label=label)
    mid.set_yscale("log")
    mid.set_ylabel("ms (log)")
    _stacked(low, seconds, [row["answers"] for row in timeline], 1.0)
    low.set_ylabel("answers / s")
    early = report.get("early", [])
    _stacked(zoom, [row["t"] for row in early], [row["answers"] for row in early], 0.1)
    zoom.set_ylabel("answers / 100 ms")
    zoom.set_xlabel("seconds since the opening (zoom: the first seconds)")
    for axes in (top, mid, low, zoom):
        _mark_sell_out(axes, report.get("sold_out_after_s"))
        axes.legend(fontsize="small", loc="upper right")
    low.set_xlabel("seconds since the opening")
    fig.suptitle(_title(report))
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _stacked(axes: Axes, xs: Sequence[float], rows: Sequence[dict[str, int]], width: float) -> None:
    bottom = [0] * len(rows)
    for result in sorted({r for row in rows for r in row}):
        counts = [row.get(result, 0) for row in rows]
        axes.bar(xs, counts, width=width, bottom=bottom, label=result, align="edge")
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]


def _mark_sell_out(axes: Axes, at_s: float | None) -> None:
    if at_s is not None:
        axes.axvline(at_s, color="black", linestyle="--", linewidth=1, label="sold out")


def _title(report: dict[str, Any]) -> str:
    plan, wait = report["plan"], report["client_wait_ms"]
    return (
        f"{plan['clients']:,} clients for {plan['stock']:,} coupons ({plan['arrival']}) — "
        f"request p99 {report['latency_ms']['p99']:.0f} ms, client wait p99 "
        f"{wait['p99'] / 1000:.1f} s, max {wait['max'] / 1000:.1f} s"
    )
