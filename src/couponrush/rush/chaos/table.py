"""The chaos table: markdown for people (and docs/reliability.md), JSON for machines."""

from __future__ import annotations

import json
import platform
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from couponrush.rush.chaos.scenario import Outcome

_COLUMNS = ("scenario", "fault", "outage (s)", "clients", "told issued", "rows",
            "unacknowledged", "acknowledged then lost", "lost", "phantom", "dup slots",
            "oversell", "503s during fault", "wins again after (s)", "recovered after (s)",
            "verdict")  # fmt: skip
BEGIN, END = "<!-- chaos table: begin -->", "<!-- chaos table: end -->"


def markdown(outcomes: Sequence[Outcome]) -> str:
    lines = ["| " + " | ".join(_COLUMNS) + " |", "|" + "---|" * len(_COLUMNS)]
    for o in outcomes:
        row = o.to_json()
        cells = (
            row["scenario"],
            row["fault"],
            f"{row['outage_s']:g}",
            f"{row['clients']:,}",
            f"{row['told']:,}",
            f"{row['rows']:,}",
            str(row["unacknowledged"]),
            str(row["acknowledged_then_lost"]),
            str(len(o.check.lost)),
            str(len(o.check.phantom)),
            str(len(o.check.duplicate_slots)),
            str(len(o.check.oversell)),
            f"{row['answers_503_during_fault']:,}",
            _seconds(row["wins_again_after_s"], "-"),
            _seconds(row["recovered_after_s"], "not in time"),
            _verdict(row),
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _verdict(row: dict[str, Any]) -> str:
    return "ok" if row["ok"] and row["recovered_after_s"] is not None else "**FAILED**"


def _seconds(value: float | None, none: str) -> str:
    return none if value is None else f"{value:.1f}"


def document(outcomes: Sequence[Outcome], short: bool) -> dict[str, Any]:
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "short": short,
        "python": platform.python_version(),
        "scenarios": [o.to_json() for o in outcomes],
    }


def write(outcomes: Sequence[Outcome], short: bool, folder: Path) -> tuple[Path, Path]:
    """chaos.md, chaos.json, and each scenario's history: every answer a client got, one
    JSON line each ({at_s, user, status, result, slot})."""
    folder.mkdir(parents=True, exist_ok=True)
    md, js = folder / "chaos.md", folder / "chaos.json"
    md.write_text(markdown(outcomes))
    js.write_text(json.dumps(document(outcomes, short), indent=2))
    for o in outcomes:
        lines = (json.dumps(a._asdict()) + "\n" for a in o.history)
        (folder / f"history-{o.fault.name}.jsonl").write_text("".join(lines))
    return md, js


def into_docs(outcomes: Sequence[Outcome], page: Path, note: str) -> None:
    """Replace the table between the markers of ``page`` with this run's."""
    text = page.read_text()
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    page.write_text(f"{head}{BEGIN}\n{note}\n\n{markdown(outcomes)}{END}{tail}")
