"""`couponrush chaos --short`: every fault mid-burst, each with the set check and a measured
recovery (the long form, with 30-s outages, is a command of its own): the faults of the
stream mode and of Redis in one test, those of the Kafka pipeline on three brokers in
another."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from couponrush.rush.chaos.faults import FAULTS, KAFKA
from tests.helpers import CLI


def _chaos(folder: Path, names: Sequence[str]) -> list[dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUPONRUSH_")}
    chosen = [word for name in names for word in ("--scenario", name)]
    argv = [*CLI, "chaos", "--short", "--out", str(folder), *chosen]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=580, check=False)
    assert (folder / "chaos.json").exists(), done.stdout[-3000:] + done.stderr[-3000:]
    scenarios: list[dict[str, Any]] = json.loads((folder / "chaos.json").read_text())["scenarios"]
    failed = [s for s in scenarios if not s["ok"] or s["recovered_after_s"] is None]
    assert failed == [], json.dumps(failed, indent=1)
    assert done.returncode == 0, done.stdout[-3000:]
    assert {s["scenario"] for s in scenarios} == set(names)
    assert all(s["told"] == s["rows"] - s["unacknowledged"] for s in scenarios)
    return scenarios


@pytest.mark.timeout(600)
def test_every_fault_keeps_the_invariants_and_recovers(tmp_path: Path) -> None:
    _chaos(tmp_path, [f.name for f in FAULTS if f not in KAFKA])


@pytest.mark.timeout(600)
def test_every_kafka_fault_on_three_brokers_keeps_the_invariants_and_recovers(
    tmp_path: Path,
) -> None:
    scenarios = _chaos(tmp_path, [f.name for f in KAFKA])
    # The short form's outages outlast the timeouts they are meant to pass.
    lasted = {s["scenario"]: s["outage_s"] for s in scenarios}
    assert all(lasted[f.name] >= f.min_outage_s for f in KAFKA)
