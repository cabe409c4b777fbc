"""Observability of a running stack: one fresh `couponrush up --queue kafka` with its
Prometheus, its first sale (first row within 1 s: the pipeline was ready when `up`
returned), then one burst; every metric family agrees with the sale, every name the
alert rules and the dashboard read exists, and a dead letter fires DeadLettersPresent."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from couponrush.cli.scrape import Scrape, parse
from couponrush.client import Client
from couponrush.core.letters import Letter
from couponrush.core.reconcile import Report
from couponrush.rush.burst import burst_users, run_burst
from couponrush.rush.oracle import Answer, check
from couponrush.store.dead_letters import DeadLetters
from tests.deploy.metric_names import GATEWAY_PREFIX, dashboard_names, rule_names
from tests.helpers import create_event, local_stack_env, redis_truth, run_cli

STOCK, USERS = 400, 2_000
ALERTS_FIRING = 'ALERTS{alertstate="firing"}'


@dataclass
class Sale:
    env: dict[str, str]
    status: dict[str, Any]
    up_s: float
    first_row_s: float
    event_id: str
    answers: list[Answer]

    @property
    def prometheus(self) -> str:
        url: str = self.status["prometheus_url"]
        return url


def _now_ready(status: dict[str, Any]) -> list[str]:
    """The pipeline processes whose /readyz answers 200 right now."""
    ports = {p: u.removesuffix("/metrics") for p, u in _urls(status).items()}
    return [p for p in ("consumer", "relay") if httpx.get(f"{ports[p]}/readyz").status_code == 200]


def _urls(status: dict[str, Any]) -> dict[str, str]:
    """The metrics URLs of status --json by process, through the stack's own state."""
    state = json.loads((Path(status["var_dir"]) / "state.json").read_text())
    ports: dict[str, int] = state["metrics_ports"]
    return {name: f"http://127.0.0.1:{port}/metrics" for name, port in ports.items()}


@dataclass(frozen=True)
class Stack:
    """The running stack as the test helpers' Serving: the SDK with the admin token."""

    url: str
    admin_token: str

    def sdk(self) -> Client:
        return Client(self.url, admin_token=self.admin_token)


def _first_win(status: dict[str, Any]) -> float:
    """A sale right after `up`: its first win; when it was answered."""
    create_event(Stack(status["url"], status["admin_token"]), "first", 5)
    with httpx.Client(base_url=status["url"], timeout=10) as http:
        won = http.post("/v1/events/first/issue", json={"user_id": "early-bird"})
        answered = time.monotonic()
    assert won.status_code == 201, won.text
    return answered


async def _first_row_after(status: dict[str, Any], answered: float) -> float:
    """Seconds from the first win's answer to its row."""
    db = await asyncpg.connect(status["database_url"])
    try:
        while not await db.fetchval("SELECT count(*) FROM coupon_issuances"):
            assert time.monotonic() - answered < 30, "the first win never reached the database"
            await asyncio.sleep(0.01)
        return time.monotonic() - answered
    finally:
        await db.close()


def _start(env: dict[str, str]) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    up = run_cli(["up", "--queue", "kafka"], env, timeout=180)
    took = time.monotonic() - started
    assert up.returncode == 0, up.stdout + up.stderr
    status = json.loads(run_cli(["status", "--json"], env).stdout)
    status["var_dir"] = env["COUPONRUSH_VAR_DIR"]
    assert _now_ready(status) == ["consumer", "relay"]
    return status, took


@pytest.fixture(scope="module")
def sale() -> Iterator[Sale]:
    with local_stack_env(workers=1, prometheus=True) as env:
        env["COUPONRUSH_TRUSTED_PROXIES"] = "127.0.0.1/32"  # a bucket per simulated client
        status, up_s = _start(env)
        first_row_s = asyncio.run(_first_row_after(status, _first_win(status)))
        create_event(Stack(status["url"], status["admin_token"]), "burst", STOCK)
        users = burst_users(USERS, USERS * 3 // 4)
        answers = asyncio.run(
            run_burst(status["url"], "burst", users, 64, show_progress=False, forwarded_for=True)
        )
        yield Sale(env, status, up_s, first_row_s, "burst", answers)


def test_up_returns_with_the_pipeline_ready_and_the_first_row_within_1_s(sale: Sale) -> None:
    assert sale.first_row_s < 1.0, (sale.first_row_s, sale.up_s)


def test_status_lists_every_metrics_endpoint_and_prometheus(sale: Sale) -> None:
    urls = sale.status["metrics"]
    assert set(_urls(sale.status).values()) | {f"{sale.status['url']}/gateway/metrics"} == set(urls)
    assert {"app", "consumer", "relay", "redis-exporter", "postgres-exporter"} == set(
        _urls(sale.status)
    )
    assert httpx.get(f"{sale.prometheus}/-/ready").status_code == 200
    brokers = sale.status["kafka_brokers"]
    assert [(b["node_id"], b["addr"]) for b in brokers] == [(1, brokers[0]["addr"])]
    assert brokers[0]["pid"] in {p["pid"] for p in sale.status["processes"]}


def _scrape(sale: Sale, process: str) -> Scrape:
    return parse([httpx.get(_urls(sale.status)[process]).text], time.monotonic())


def _gateway_answers(sale: Sale) -> tuple[float, float]:
    """What the gateway answered itself: all of it, and the win lane's wins."""
    text = httpx.get(f"{sale.status['url']}/gateway/metrics").text
    found = parse([text], time.monotonic())
    lane = "couponrush_gateway_lane_total"
    wins = found.sum(lane, outcome="issued")
    edge = found.sum("couponrush_gateway_edge_answers_total")
    return edge + wins + found.sum(lane, outcome="already_issued"), wins


def _until(check: Any, what: str, timeout_s: float = 30) -> Any:
    """``check()`` until it returns something truthy (polled, with a deadline)."""
    deadline = time.monotonic() + timeout_s
    while not (found := check()):
        assert time.monotonic() < deadline, f"{what}: not within {timeout_s:.0f} s"
        time.sleep(0.2)
    return found


async def _redis_truth(sale: Sale) -> tuple[dict[str, int], int]:
    redis = Redis.from_url(sale.status["redis_url"], decode_responses=True)
    try:
        return await redis_truth(redis, sale.event_id)
    finally:
        await redis.aclose()


def test_the_invariants_hold_and_every_metric_agrees_with_the_sale(sale: Sale) -> None:
    winners, stock = asyncio.run(_redis_truth(sale))
    assert check(STOCK, sale.answers, winners, stock, expect_sold_out=True) == []
    reconciled = run_cli(["reconcile", sale.event_id, "--json"], sale.env)
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    event = {"event": sale.event_id}
    consumer = _until(
        lambda: (
            (s := _scrape(sale, "consumer")).sum("couponrush_outbox_backlog", **event) == 0
            and s.sum("couponrush_pipeline_rows_written_total") == STOCK + 1
            and s.by("couponrush_reconcile_breaches", "kind")
            and s
        ),
        "the pipeline drained",
    )
    assert consumer.sum("couponrush_event_issued", **event) == STOCK
    assert consumer.sum("couponrush_event_stock_remaining", **event) == 0
    assert consumer.sum("couponrush_event_coupons", **event) == STOCK
    assert 0 < consumer.sum("couponrush_consumer_lag_seconds") < 5
    assert consumer.sum("couponrush_dead_letters") == 0
    assert consumer.by("couponrush_reconcile_breaches", "kind") == dict.fromkeys(
        Report.BREACH_KINDS, 0.0
    )
    assert set(consumer.by("couponrush_pipeline_retries_total", "stage")) >= {"fetch", "write"}
    assert consumer.sum("couponrush_pipeline_dead_letters_total") == 0

    # The group's lag on each of the topic's partitions, back to 0 once every win has its row.
    def lag_drained() -> Scrape | None:
        found = _scrape(sale, "consumer")
        lag = found.by("couponrush_kafka_consumer_lag", "partition")
        return found if lag == dict.fromkeys(map(str, range(12)), 0.0) else None

    drained = _until(lag_drained, "the Kafka group's lag back to 0")
    assert drained.sum("couponrush_kafka_log_end_offset") >= STOCK + 1
    assert drained.sum("couponrush_kafka_committed_offset") == drained.sum(
        "couponrush_kafka_log_end_offset"
    )
    relay = _scrape(sale, "relay")
    assert relay.sum("couponrush_pipeline_relayed_total") == STOCK + 1
    assert relay.sum("couponrush_relay_backlog") == 0
    # Every user asked at least once: the app answered, or the gateway did (its sold-out
    # edge, its win lane).
    app = _until(
        lambda: (
            (s := _scrape(sale, "app")).sum("couponrush_issue_requests_total")
            + _gateway_answers(sale)[0]
            >= USERS
            and s
        ),
        "the app's counts flushed",
    )
    answered = app.sum("couponrush_issue_requests_total")
    lane_wins = _gateway_answers(sale)[1]
    assert app.sum("couponrush_issue_requests_total", result="issued") + lane_wins == STOCK + 1
    assert app.sum("couponrush_issue_latency_seconds_count") == answered
    assert app.sum("couponrush_redis_batch_size_sum") <= answered
    assert app.sum("couponrush_redis_round_trip_seconds_count") > 0
    assert app.sum("couponrush_issue_in_flight") == 0
    assert app.sum("couponrush_admission_rejections_total") == 0
    assert _scrape(sale, "redis-exporter").sum("redis_up") == 1
    assert _scrape(sale, "postgres-exporter").sum("pg_up") == 1


def _query(sale: Sale, promql: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{sale.prometheus}/api/v1/query", params={"query": promql}).json()
    assert answer["status"] == "success", answer
    found: list[dict[str, Any]] = answer["data"]["result"]
    return found


def _missing_in_prometheus(sale: Sale, names: set[str]) -> list[str]:
    return sorted(n for n in names if not _query(sale, f"count({n})"))


def test_every_name_the_rules_and_the_dashboard_read_exists(sale: Sale) -> None:
    names = {n for n in rule_names() | dashboard_names() if not n.startswith(GATEWAY_PREFIX)}
    _until(lambda: not _missing_in_prometheus(sale, names), "every name scraped", 30)
    issued = f'max(couponrush_event_issued{{event="{sale.event_id}"}})'
    _until(lambda: _query(sale, f"{issued} == {STOCK}"), "Prometheus sees the sale")
    assert _query(sale, ALERTS_FIRING) == []


def test_every_gateway_name_exists_once_the_gateway_serves_its_metrics(sale: Sale) -> None:
    gateway = httpx.get(f"{sale.status['url']}/gateway/metrics")
    if gateway.status_code != 200 or GATEWAY_PREFIX not in gateway.text:
        pytest.skip(
            "the gateway does not serve /gateway/metrics (its Lua metrics have not "
            "landed); these names wait for it"
        )
    names = {n for n in rule_names() | dashboard_names() if n.startswith(GATEWAY_PREFIX)}
    _until(lambda: not _missing_in_prometheus(sale, names), "every gateway name scraped", 30)


def test_a_dead_letter_fires_dead_letters_present(sale: Sale) -> None:
    # Runs after the tests above, which expect no dead letter.
    async def put() -> None:
        redis = Redis.from_url(sale.status["redis_url"], decode_responses=True)
        try:
            await DeadLetters(redis).put(
                Letter(sale.event_id, {"raw": "x"}, "parse", "test", 1, "test")
            )
        finally:
            await redis.aclose()

    asyncio.run(put())
    firing = _until(lambda: _query(sale, ALERTS_FIRING), "an alert", 30)
    assert "DeadLettersPresent" in {a["metric"]["alertname"] for a in firing}


def test_top_shows_the_event(sale: Sale) -> None:
    env = {**sale.env, "COLUMNS": "120"}
    shown = run_cli(["top", sale.event_id, "--once", "--interval", "0.5"], env)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert f"0 of {STOCK} left · {STOCK} issued (100%) · sold_out" in shown.stdout
    assert "backlog 0" in shown.stdout
    missing = run_cli(["top", "nope", "--once", "--interval", "0.1"], env)
    assert "no event 'nope' in Redis" in missing.stdout


def test_every_process_logs_json(sale: Sale) -> None:
    logs = Path(sale.env["COUPONRUSH_VAR_DIR"]) / "logs"
    for name in (
        "app-0",
        "app-metrics",
        "consumer",
        "relay",
        "prometheus",
        "redis-exporter",
        "postgres-exporter",
    ):
        for line in (logs / f"{name}.log").read_text().splitlines():
            assert isinstance(json.loads(line), dict), (name, line)
