"""`couponrush chaos --short`: every fault mid-burst, each with the set check and a measured
recovery (the long form, with 30-s outages, is a command of its own)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.helpers import CLI


@pytest.mark.timeout(600)
def test_every_fault_keeps_the_invariants_and_recovers(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUPONRUSH_")}
    done = subprocess.run([*CLI, "chaos", "--short", "--out", str(tmp_path)], env=env,
                          capture_output=True, text=True, timeout=580, check=False)  # fmt: skip
    assert (tmp_path / "chaos.json").exists(), done.stdout[-3000:] + done.stderr[-3000:]
    scenarios = json.loads((tmp_path / "chaos.json").read_text())["scenarios"]
    failed = [s for s in scenarios if not s["ok"] or s["recovered_after_s"] is None]
    assert failed == [], json.dumps(failed, indent=1)
    assert done.returncode == 0, done.stdout[-3000:]
    assert {s["scenario"] for s in scenarios} >= {
        "app-worker-kill", "consumer-kill", "relay-kill", "broker-down", "postgres-down",
        "redis-restart", "gateway-reload", "sentinel-failover", "cluster-failover"}  # fmt: skip
    assert all(s["told"] == s["rows"] - s["unacknowledged"] for s in scenarios)
