"""Helpers of the sold-out edge tests: settings, selling out, and telling who answered."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import httpx

from couponrush.stack.ready import wait_until
from tests.helpers import create_event

from .conftest import AppPool, Gateway, start_pool

POLL_MS = 50
LEASE_MS = 1000
# What the gateways of these tests run with (the app workers get the same lease).
EDGE = {"edge_poll_ms": POLL_MS, "soldout_lease_ms": LEASE_MS,
        "client_rate_per_s": 100_000, "client_burst": 100_000}  # fmt: skip
_probes = itertools.count()


def start_edge_pool(redis_url: str, folder: Path) -> AppPool:
    """One worker, so that its counters are exact the moment they are read, with the lease
    the edge tests wait out."""
    return start_pool(redis_url, folder, 1, user_rate_per_s="0", soldout_lease_ms=str(LEASE_MS))


def issue(url: str, event_id: str, user: str, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{url}/v1/events/{event_id}/issue", json={"user_id": user}, headers=headers, timeout=10
    )


def at_edge(answer: httpx.Response) -> bool:
    """Answered 410 by the gateway itself (the app's answers carry no X-Rejected-By)."""
    return answer.status_code == 410 and answer.headers.get("x-rejected-by") == "gateway"


def sold_out(pool: AppPool, gw: Gateway, event_id: str, winners: int) -> dict[str, str]:
    """Create the event and sell it out through the gateway: winner -> coupon code."""
    create_event(pool, event_id, winners)
    codes = {}
    for i in range(winners):
        won = issue(gw.url, event_id, f"w{i}")
        assert won.status_code == 201, won.text
        codes[f"w{i}"] = won.json()["coupon_code"]
    assert issue(gw.url, event_id, "the-first-loser").status_code == 410
    return codes


def edge_answers(gw: Gateway, event_id: str) -> bool:
    return at_edge(issue(gw.url, event_id, f"probe-{next(_probes)}"))


def wait_for_edge(gw: Gateway, event_id: str, timeout_s: float = 10) -> None:
    wait_until(lambda: edge_answers(gw, event_id), f"the edge of {gw.url}", timeout_s)


def lines(gw: Gateway, **match: Any) -> list[dict[str, Any]]:
    """The access log lines whose fields equal ``match``."""
    return [line for line in gw.access_log() if all(line.get(k) == v for k, v in match.items())]
