"""The OpenAPI document is exact: schemathesis, every check, through the real gateway."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.gateway.conftest import AppPool, GatewayFactory

CONFIG = Path(__file__).with_name("schemathesis.toml")
# Bounded: a fixed seed, few examples per operation, and a time budget for the whole run.
BOUNDS = ["--max-examples", "25", "--max-time", "90", "--seed", "20261127",
          "--generation-database", "none", "--workers", "1"]  # fmt: skip


def test_schemathesis_finds_nothing(app_pool: AppPool, start_gateway: GatewayFactory,
                                    tmp_path: Path) -> None:  # fmt: skip
    # Limits raised so the run reaches the API's logic instead of the per-client bucket.
    gw = start_gateway(app_pool, client_rate_per_s=100_000, client_burst=100_000)
    done = subprocess.run(
        [str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(CONFIG),
         "--no-color", "run", f"{gw.url}/openapi.json", "--checks", "all", *BOUNDS,
         "--header", f"Authorization: Bearer {app_pool.admin_token}",
         "--report", "junit", "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=180, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
