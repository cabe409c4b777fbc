"""The load harness against the real stack: its report agrees with the servers."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from couponrush.rush.verify import redis_truth
from tests.helpers import CLI, local_stack_env


@pytest.fixture(scope="module")
def stack_env() -> Iterator[dict[str, str]]:
    with local_stack_env(workers=2) as env:
        yield env


def _rush(env: dict[str, str], out: Path, *args: str) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [
            *CLI,
            "rush",
            "--clients",
            "20000",
            "--stock",
            "500",
            "--connections",
            "128",
            "--out",
            str(out),
            *args,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    report_file = out / "report.json"
    assert report_file.exists(), done.stdout + done.stderr
    return done.returncode, json.loads(report_file.read_text())


def test_a_20000_client_rush_agrees_with_the_servers(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    code, report = _rush(stack_env, tmp_path / "ok")
    assert code == 0, report["invariants"]
    assert report["invariants"] == {
        "ok": True,
        "breaches": [],
        "redis_winners": 500,
        "stock_left": 0,
    }
    assert report["final"] == {"issued": 500, "sold_out": 19_500}
    assert report["requests"]["answered"] == sum(report["statuses"].values())
    assert report["unfinished"] == 0
    state = json.loads((Path(stack_env["COUPONRUSH_VAR_DIR"]) / "state.json").read_text())
    winners, stock_left = redis_truth(state["redis_url"], report["plan"]["event_id"])
    assert (len(winners), stock_left) == (500, 0)
    assert (tmp_path / "ok" / "report.png").stat().st_size > 10_000
    pipeline = report["pipeline"]  # every win persisted, with the slot and code told
    assert pipeline["database_rows"] == 500
    assert pipeline["reconcile_breaches"] == {}
    assert set(pipeline["win_to_row_lag_ms"]) == {"p50", "p99", "max"}


def test_a_run_checked_against_the_wrong_stock_fails(
    stack_env: dict[str, str], tmp_path: Path
) -> None:
    code, report = _rush(stack_env, tmp_path / "broken", "--expect-stock", "499")
    assert code == 1
    invariants = report["invariants"]
    assert invariants["ok"] is False
    assert any("expected 499" in b for b in invariants["breaches"])
