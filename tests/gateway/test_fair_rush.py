"""The short form of ``couponrush rush --opening shuffled`` (rush/fair.py): a pre-queue of
300 clients over two seconds through a real gateway, its report's figures and DESIGN §1
(Redis; the database is the long run's)."""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

from redis.asyncio import Redis
from rich.console import Console

from couponrush.rush import fair, fair_report, oracle
from tests.gateway.conftest import GatewayFactory, start_pool, stop_pool
from tests.helpers import redis_truth

CLIENTS, STOCK, WAVE = 300, 40, 10


async def test_a_short_rush_with_a_pre_queue(
    redis_url: str, redis: Redis, start_gateway: GatewayFactory, tmp_path: Path
) -> None:
    pool = start_pool(redis_url, tmp_path / "pool", 2)
    plan = fair.FairPlan(f"fair-{secrets.token_hex(3)}", CLIENTS, STOCK, 2.0, WAVE, 0.5, 32)
    try:
        gw = start_gateway(pool, trusted_proxies=["127.0.0.1/32"], client_rate_per_s=10)
        result = await fair.sale(gw.url, pool.admin_token, plan)
    finally:
        stop_pool(pool)
    assert result["verified"]
    assert result["joins_by_status"] == {201: CLIENTS}  # each its own address: none limited
    answers = result["answers"]
    assert len(answers) == CLIENTS
    winners, left = await redis_truth(redis, plan.event_id)
    assert oracle.check(STOCK, answers, winners, left, expect_sold_out=True) == []
    curve = result["admission_curve"]
    assert [c["admitted_upto"] for c in curve] == [WAVE * (k + 1) for k in range(len(curve))]
    assert max(c["won"] for c in curve) == STOCK
    await asyncio.to_thread(fair_report.write, result, [], tmp_path / "report", Console())
    assert (tmp_path / "report" / "fair-opening.png").stat().st_size > 0
    flat = fair_report.flatness(result["arrivals"], result["positions"])
    assert abs(flat["spearman_rho"]) < flat["rho_bound"]
