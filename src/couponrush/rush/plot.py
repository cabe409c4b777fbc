"""The rush figure: throughput, latency percentiles and outcomes per second."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt


def plot(report: dict[str, Any], path: Path) -> None:
    timeline = report["timeline"]
    seconds = [row["s"] for row in timeline]
    fig, (top, mid, low) = plt.subplots(3, 1, figsize=(10, 9), sharex=True)
    top.plot(seconds, [row["sent"] for row in timeline], label="sent")
    top.plot(seconds, [sum(row["answers"].values()) for row in timeline], label="answered")
    top.set_ylabel("requests / s")
    top.legend()
    for key, label in (("p50_ms", "p50"), ("p99_ms", "p99")):
        mid.plot(seconds, [row[key] or 0 for row in timeline], label=label)
    mid.set_ylabel("latency (ms)")
    mid.legend()
    results = sorted({r for row in timeline for r in row["answers"]})
    bottom = [0] * len(timeline)
    for result in results:
        counts = [row["answers"].get(result, 0) for row in timeline]
        low.bar(seconds, counts, bottom=bottom, label=result)
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    low.set_ylabel("answers / s")
    low.set_xlabel("seconds since the opening")
    low.legend()
    plan = report["plan"]
    fig.suptitle(f"{plan['clients']:,} clients for {plan['stock']:,} coupons — "
                 f"p99 {report['latency_ms']['p99']:.0f} ms, "
                 f"{report['throughput_rps']:,.0f} req/s")  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
