"""The OpenAPI document is exact: schemathesis, every check, through the real gateway."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures.postgres import PgServer
from tests.gateway.conftest import AppPool, GatewayFactory, start_pool, stop_pool

CONFIG = Path(__file__).with_name("schemathesis.toml")
# Bounded: a fixed seed, few examples per operation, and a time budget for the whole run.
BOUNDS = ["--max-examples", "25", "--max-time", "90", "--seed", "20261127",
          "--generation-database", "none", "--workers", "1"]  # fmt: skip


@pytest.fixture(scope="module")
def db_pool(
    redis_url: str, pg: PgServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppPool]:
    """Workers with a database, so that every route answers from its own logic."""
    pool = start_pool(
        redis_url,
        tmp_path_factory.mktemp("conformance"),
        2,
        database_url=pg.url,
        user_rate_per_s="2",
        user_burst="3",
    )
    yield pool
    stop_pool(pool)


def test_schemathesis_finds_nothing(db_pool: AppPool, start_gateway: GatewayFactory,
                                    tmp_path: Path) -> None:  # fmt: skip
    # Limits raised so the run reaches the API's logic instead of the per-client bucket.
    app_pool = db_pool
    gw = start_gateway(app_pool, client_rate_per_s=100_000, client_burst=100_000)
    done = subprocess.run(
        [str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(CONFIG),
         "--no-color", "run", f"{gw.url}/openapi.json", "--checks", "all", *BOUNDS,
         "--header", f"Authorization: Bearer {app_pool.admin_token}",
         "--report", "junit", "--report-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=180, check=False, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
