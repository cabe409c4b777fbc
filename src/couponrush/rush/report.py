"""The rush report: JSON for machines, one screen of text, and a PNG figure."""

from __future__ import annotations

import os
import platform
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from hdrh.histogram import HdrHistogram
from rich.console import Console
from rich.table import Table

from couponrush.rush.plan import RushPlan
from couponrush.rush.plot import plot
from couponrush.rush.recorder import new_wait_histogram
from couponrush.rush.runner import Merged
from couponrush.rush.verify import Verification

PERCENTILES = (50.0, 90.0, 99.0, 99.9)


def build(
    plan: RushPlan, merged: Merged, check: Verification, extra: dict[str, Any]
) -> dict[str, Any]:
    seconds = sorted(set(merged.sent_by_s) | set(merged.answers_by_s))
    answered = sum(merged.statuses.values())
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": _cpus(), "python": platform.python_version()},
        "plan": {k: getattr(plan, k) for k in plan.__dataclass_fields__},
        "requests": {
            "sent": sum(merged.sent_by_s.values()),
            "answered": answered,
            "retries": merged.retries,
            "network_errors": merged.network_errors,
        },
        "final": dict(sorted(merged.final.items())),
        "statuses": {str(k): v for k, v in sorted(merged.statuses.items())},
        "throughput_rps": round(answered / merged.last_final_s, 1) if merged.last_final_s else 0,
        "latency_ms": _percentiles_ms(merged.latency),
        # arrival (scheduled start) -> final answer, per client: every queue and retry in it
        "client_wait_ms": _percentiles_ms(merged.waited),
        "goodput": goodput(merged),
        "issuing": issuing(merged),
        "sold_out_after_s": merged.first_sold_out_s,
        "all_answered_after_s": merged.last_final_s,
        "unfinished": merged.unfinished,
        "timeline": [_second(merged, s) for s in seconds],
        "early": [
            {"t": ds / 10, "answers": dict(merged.early_by_ds[ds])}
            for ds in sorted(merged.early_by_ds)
        ],
        "invariants": {
            "ok": check.ok,
            "breaches": check.breaches[:50],
            "redis_winners": check.redis_winners,
            "stock_left": check.stock_left,
        },
        **extra,
    }


def _cpus() -> int:
    return os.cpu_count() or 0


def _percentiles_ms(hist: HdrHistogram) -> dict[str, float]:
    found = {f"p{p:g}": hist.get_value_at_percentile(p) / 1000 for p in PERCENTILES}
    return {**found, "max": hist.get_max_value() / 1000}


def _at_ms(hist: HdrHistogram | None, percentile: float) -> float | None:
    return hist.get_value_at_percentile(percentile) / 1000 if hist else None


def goodput(merged: Merged) -> dict[str, float | None]:
    """Wins per second while the sale lasted, from the first win to the last one: in tenths
    of a second when the sale was over within the zoomed first seconds, else in seconds."""
    tenths = {t: c["issued"] for t, c in merged.early_by_ds.items() if c.get("issued")}
    seconds = {s: c["issued"] for s, c in merged.finals_by_s.items() if c.get("issued")}
    if not seconds:
        return {"wins_per_s": None, "peak_wins_per_s": None, "window_s": None}
    wins = sum(seconds.values())
    if sum(tenths.values()) == wins:
        window = (max(tenths) - min(tenths) + 1) / 10
    else:
        window = max(seconds) - min(seconds) + 1
    return {
        "wins_per_s": round(wins / window, 1),
        "peak_wins_per_s": max(seconds.values()),
        "window_s": window,
    }


def issuing(merged: Merged) -> dict[str, Any]:
    """The issuing phase, until the first sold_out answer: wins a second, its length, and
    how long the clients answered in it waited (arrival to final answer, whole seconds)."""
    end = merged.first_sold_out_s
    waited = new_wait_histogram()
    for second, hist in merged.waited_by_s.items():
        if end is None or second <= end:
            waited.add(hist)
    wins = merged.final.get("issued", 0)
    return {
        "wins": wins,
        "sold_out_after_s": end,
        "wins_per_s": round(wins / end, 1) if end else None,
        "client_wait_ms": _percentiles_ms(waited) if waited.get_total_count() else None,
    }


def _second(merged: Merged, second: int) -> dict[str, Any]:
    latency, waited = merged.latency_by_s.get(second), merged.waited_by_s.get(second)
    return {
        "s": second,
        "sent": merged.sent_by_s.get(second, 0),
        "answers": dict(merged.answers_by_s.get(second, {})),
        "finals": dict(merged.finals_by_s.get(second, {})),
        "p50_ms": _at_ms(latency, 50),
        "p99_ms": _at_ms(latency, 99),
        # the clients whose final answer came in this second: how long they had waited
        "wait_p50_ms": _at_ms(waited, 50),
        "wait_p99_ms": _at_ms(waited, 99),
    }


def summary(report: dict[str, Any], console: Console) -> None:
    table = Table(
        title=f"rush: {report['plan']['clients']:,} clients, {report['plan']['stock']:,} coupons"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    req, lat = report["requests"], report["latency_ms"]
    rows = [
        ("requests sent / answered", f"{req['sent']:,} / {req['answered']:,}"),
        ("retries / network errors", f"{req['retries']:,} / {req['network_errors']:,}"),
        *((f"final: {k}", f"{v:,}") for k, v in report["final"].items()),
        ("statuses", ", ".join(f"{k}: {v:,}" for k, v in report["statuses"].items())),
        ("throughput", f"{report['throughput_rps']:,.0f} req/s"),
        ("request latency p50 / p90 / p99 / p99.9 / max", _row_ms(lat)),
        ("client wait, arrival to final answer", _row_ms(report["client_wait_ms"])),
        ("wins per second while selling", _plain(report["goodput"]["wins_per_s"])),
        ("issuing: wins / wins per second to sold out", _issuing(report["issuing"])),
        ("issuing: client wait p50 / p90 / p99 / p99.9 / max", _issuing_wait(report["issuing"])),
        ("sold out after", _secs(report["sold_out_after_s"])),
        ("every client answered after", _secs(report["all_answered_after_s"])),
    ]
    pipeline = dict(report.get("pipeline", {}))
    found = pipeline.pop("reconcile_breaches", None)
    rows += [(k.replace("_", " "), _plain(v)) for k, v in pipeline.items()]
    if found is not None:
        rows.append(("reconcile", "clean" if found == {} else _plain(found)))
    for name, value in rows:
        table.add_row(name, value)
    console.print(table)
    inv = report["invariants"]
    if inv["ok"]:
        console.print(
            "[green]invariants hold[/]: exactly N issued to distinct users, slots 1..N, "
            "Redis and the database agree with every answer"
        )
    else:
        console.print(f"[red]INVARIANTS BROKEN[/] ({len(inv['breaches'])}):")
        for line in inv["breaches"][:20]:
            console.print(f"  - {line}")


def _issuing(phase: dict[str, Any]) -> str:
    return f"{phase['wins']:,} / {_plain(phase['wins_per_s'])}"


def _issuing_wait(phase: dict[str, Any]) -> str:
    return "-" if phase["client_wait_ms"] is None else _row_ms(phase["client_wait_ms"])


def _row_ms(values: dict[str, float]) -> str:
    return " / ".join(f"{values[k]:.1f}" for k in ("p50", "p90", "p99", "p99.9", "max")) + " ms"


def _plain(value: Any) -> str:
    if isinstance(value, dict):
        return " / ".join(f"{k} {v:,.0f}" for k, v in value.items()) or "-"
    return "-" if value is None else f"{value:,}"


def _secs(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f} s"


def write(report: dict[str, Any], folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    json_path, png_path = folder / "report.json", folder / "report.png"
    json_path.write_bytes(orjson.dumps(report, option=orjson.OPT_INDENT_2))
    plot(report, png_path)
    return json_path, png_path
