"""`couponrush up / status / down` on a fresh state folder, with the Redis port taken."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx
import pytest

from tests.helpers import stack_cli


def assert_secrets_private(var: Path, token: str) -> None:
    """Every file that holds the admin token or the coupon secret is owner-only, and no log
    holds either (the gateway's config holds the secret: its win lane signs coupon codes)."""
    secret = json.loads((var / "state.json").read_text())["coupon_secret"]
    holders = [
        p
        for p in var.rglob("*")
        if p.is_file() and not p.is_socket() and _holds(p, (token, secret))
    ]
    assert {p.name for p in holders} == {"state.json", "supervisord.conf", "nginx.conf"}
    for path in holders:
        assert path.stat().st_mode & 0o077 == 0, f"{path} is {oct(path.stat().st_mode)}"


def _holds(path: Path, needles: tuple[str, ...]) -> bool:
    try:
        data = path.read_bytes()
    except OSError:  # a file of PostgreSQL's own account
        return False
    return any(n.encode() in data for n in needles)


def test_up_status_issue_down(stack_env: dict[str, str]) -> None:
    with socket.socket() as squatter:  # the configured Redis port is taken: up picks another
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        stack_env["COUPONRUSH_STACK_REDIS_PORT"] = str(squatter.getsockname()[1])
        up = stack_cli(stack_env, "up")
        assert up.returncode == 0, up.stdout + up.stderr
    status = json.loads(stack_cli(stack_env, "status", "--json").stdout)
    assert status["running"] is True
    assert status["url"] == f"http://127.0.0.1:{stack_env['COUPONRUSH_GATEWAY_PORT']}"
    assert len(status["app_sockets"]) == 1
    assert not status["redis_url"].endswith(f":{stack_env['COUPONRUSH_STACK_REDIS_PORT']}/0")
    assert {p["name"] for p in status["processes"]} == {
        "redis",
        "postgres",
        "app-0",
        "app-metrics",
        "gateway",
        "consumer",
    }
    assert status["prometheus_url"] is None  # COUPONRUSH_STACK_PROMETHEUS=false
    assert len(status["metrics"]) == 3  # the app workers' sum, the consumer, the gateway
    assert status["database_url"].startswith("postgresql://")
    assert all(p["state"] == "RUNNING" for p in status["processes"])
    assert stack_cli(stack_env, "up").returncode == 0  # idempotent
    assert_secrets_private(Path(stack_env["COUPONRUSH_VAR_DIR"]), status["admin_token"])

    assert stack_cli(stack_env, "event", "create", "stack-e1", "--stock", "1").returncode == 0
    assert stack_cli(stack_env, "issue", "stack-e1", "alice").returncode == 0
    assert stack_cli(stack_env, "issue", "stack-e1", "bob").returncode == 1  # sold out
    shown = httpx.get(f"{status['url']}/v1/events/stack-e1").json()
    assert (shown["issued"], shown["remaining"], shown["status"]) == (1, 0, "sold_out")

    # `up` on a running stack applies changed gateway limits (a graceful nginx reload).
    tight = {**stack_env, "COUPONRUSH_CLIENT_RATE_PER_S": "1", "COUPONRUSH_CLIENT_BURST": "1"}
    assert stack_cli(tight, "up").returncode == 0
    codes = [httpx.get(f"{status['url']}/v1/events/stack-e1").status_code for _ in range(5)]
    assert codes[0] == 200
    assert 429 in codes, codes

    assert stack_cli(stack_env, "down").returncode == 0
    after = stack_cli(stack_env, "status", "--json")
    assert after.returncode == 3
    assert json.loads(after.stdout)["running"] is False
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{status['url']}/healthz")
