"""The pipeline's processes load what they run: no plotting stack, no load harness, and
in stream mode no Kafka client."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from couponrush.stack.procs import spawn, stop
from couponrush.stack.ready import wait_until
from tests.fixtures.postgres import PgServer


def _imported(stderr: str) -> set[str]:
    """Module names from ``python -X importtime``'s report."""
    return {
        line.rsplit("|", 1)[1].strip()
        for line in stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }


@pytest.mark.parametrize(
    ("role", "ready"), [("consume", "consumer_started"), ("relay", "relay_started")]
)
def test_pipeline_processes_load_no_plotting_and_no_load_harness(
    role: str,
    ready: str,
    redis_url: str,
    pg: PgServer,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUPONRUSH_")}
    env.update(
        COUPONRUSH_REDIS_URL=redis_url,
        COUPONRUSH_DATABASE_URL=pg.url,
        COUPONRUSH_COUPON_SECRET="s" * 32,
        COUPONRUSH_VAR_DIR=str(tmp_path / "var"),
    )
    if role == "relay":
        bootstrap = request.getfixturevalue("kafka_bootstrap")
        env.update(
            COUPONRUSH_QUEUE="kafka",
            COUPONRUSH_KAFKA_BOOTSTRAP=bootstrap,
            COUPONRUSH_KAFKA_TOPIC="imports.issued",
            COUPONRUSH_KAFKA_REPLICATION_FACTOR="1",
            COUPONRUSH_KAFKA_MIN_INSYNC_REPLICAS="1",
        )
    log = tmp_path / f"{role}.log"
    proc = spawn([sys.executable, "-X", "importtime", "-m", "couponrush", role], log, env)
    try:
        wait_until(lambda: ready in log.read_text(errors="replace"), f"the {role} process", 60)
    finally:
        stop(proc)
    imported = _imported(log.read_text(errors="replace"))
    assert f"couponrush.pipeline.{'consumer' if role == 'consume' else 'relay'}" in imported
    heavy = sorted(
        m
        for m in imported
        if m.split(".")[0] in ("matplotlib", "numpy", "PIL", "hdrh")
        or m.startswith("couponrush.rush")
    )
    assert heavy == []
    if role == "consume":  # stream mode: the Kafka client is an extra it does not need
        assert not [m for m in imported if m.startswith("confluent_kafka")]
