"""`couponrush up --redis sentinel|cluster`: the nodes, their roles in `status --json`, a
sale through the gateway that reaches the database, and a killed node that the stack's
healer starts again by itself."""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import httpx
import pytest

from couponrush.stack import redis_nodes
from couponrush.stack.ready import wait_until
from tests.helpers import stack_cli

ROLES = {
    "cluster": {"primary": 3, "replica": 6},
    "sentinel": {"primary": 1, "replica": 2, "sentinel": 3},
}


def _status(env: dict[str, str]) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(stack_cli(env, "status", "--json").stdout)
    return found


@pytest.mark.parametrize("mode", ["sentinel", "cluster"])
def test_up_with_replicas_serves_and_heals(stack_env: dict[str, str], mode: str) -> None:
    up = stack_cli(stack_env, "up", "--redis", mode)
    assert up.returncode == 0, up.stdout + up.stderr
    status = _status(stack_env)
    assert status["redis_mode"] == mode
    nodes = status["redis_nodes"]
    assert Counter(n["role"] for n in nodes) == ROLES[mode]
    assert all(isinstance(n["pid"], int) and n["addr"].startswith("127.0.0.1:") for n in nodes)

    assert stack_cli(stack_env, "event", "create", "ha-e1", "--stock", "3").returncode == 0
    assert stack_cli(stack_env, "issue", "ha-e1", "alice").returncode == 0

    def reconciled() -> bool:
        return stack_cli(stack_env, "reconcile", "ha-e1").returncode == 0

    wait_until(reconciled, "alice's row in the database", 30)

    primary = next(int(n["addr"].rsplit(":", 1)[1]) for n in nodes if n["role"] == "primary")
    killed = redis_nodes.kill(primary)
    # No `up`: the healer starts it again once a replica took over; it rejoins as a replica.

    def healed() -> bool:
        found = {n["addr"]: n for n in _status(stack_env)["redis_nodes"]}
        back = found[f"127.0.0.1:{primary}"]
        roles = Counter(n["role"] for n in found.values())
        return roles == ROLES[mode] and back["role"] == "replica" and back["pid"] != killed

    wait_until(healed, "the killed primary back as a replica", 60)
    # After the failover: the first win may go to the app while the gateway's win lane
    # finds its primary gone; the lane then asks the sentinels again and answers the next.
    for user in ("bob", "carol"):
        assert stack_cli(stack_env, "issue", "ha-e1", user).returncode == 0
    wins = _lane_wins(status["url"])
    assert wins >= 2 if mode == "sentinel" else wins == 0  # the lane is off in Cluster mode
    assert stack_cli(stack_env, "down").returncode == 0


def _lane_wins(url: str) -> float:
    """Wins the gateway's win lane answered (in Cluster mode it is off: none)."""
    text = httpx.get(f"{url}/gateway/metrics", timeout=5).text
    found = re.search(r'^couponrush_gateway_lane_total\{outcome="issued"\} (\S+)$', text, re.M)
    assert found, text
    return float(found.group(1))
