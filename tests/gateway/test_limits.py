"""Token buckets: per client at the gateway, per user id in the app."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx

from tests.helpers import create_event

from .conftest import AppPool, GatewayFactory


def _issue(http: httpx.Client, event_id: str, user: str, xff: str | None = None) -> httpx.Response:
    headers = {"X-Forwarded-For": xff} if xff else {}
    return http.post(f"/v1/events/{event_id}/issue", json={"user_id": user}, headers=headers)


def test_a_client_over_its_bucket_gets_429_then_is_served_after_retry_after(
    app_pool: AppPool, start_gateway: GatewayFactory, event_id: str
) -> None:
    create_event(app_pool, event_id, 1_000)
    gw = start_gateway(app_pool, client_rate_per_s=2, client_burst=3)
    with httpx.Client(base_url=gw.url, timeout=10) as http:
        answers = [_issue(http, event_id, f"u{i}") for i in range(10)]
        assert [a.status_code for a in answers[:4]] == [201] * 4  # 1 + burst of 3
        limited = [a for a in answers if a.status_code == 429]
        assert len(limited) >= 5
        for answer in limited:
            assert answer.headers["retry-after"] == "1"
            assert answer.headers["content-type"] == "application/problem+json"
            assert answer.headers["x-rejected-by"] == "gateway"
            assert answer.json()["result"] == "rate_limited"
        time.sleep(int(limited[0].headers["retry-after"]))  # what the client was told to do
        assert _issue(http, event_id, "after-wait").status_code == 201


def test_spoofed_forwarded_for_from_an_untrusted_hop_stays_in_its_bucket(
    app_pool: AppPool, start_gateway: GatewayFactory, event_id: str
) -> None:
    create_event(app_pool, event_id, 1_000)
    gw = start_gateway(app_pool, client_rate_per_s=1, client_burst=2, trusted_proxies=[])
    with httpx.Client(base_url=gw.url, timeout=10) as http:
        codes = [_issue(http, event_id, f"s{i}", xff=f"10.9.{i}.1").status_code for i in range(8)]
    assert codes.count(429) >= 4


def test_a_trusted_hop_gives_each_forwarded_client_its_own_bucket(
    app_pool: AppPool, start_gateway: GatewayFactory, event_id: str
) -> None:
    create_event(app_pool, event_id, 1_000)
    gw = start_gateway(
        app_pool, client_rate_per_s=1, client_burst=1, trusted_proxies=["127.0.0.1/32"]
    )
    with httpx.Client(base_url=gw.url, timeout=10) as http:
        codes = [_issue(http, event_id, f"t{i}", xff=f"10.8.{i}.1").status_code for i in range(8)]
        again = [_issue(http, event_id, f"t0-{i}", xff="10.8.0.1").status_code for i in range(3)]
    assert codes == [201] * 8
    assert 429 in again


def test_one_user_from_many_addresses_is_limited_in_the_app(
    app_pool: AppPool, start_gateway: GatewayFactory, event_id: str
) -> None:
    later = datetime.now(UTC) + timedelta(hours=1)
    # not open yet: every try reaches the user's bucket
    create_event(app_pool, event_id, 10, starts_at=later)
    gw = start_gateway(
        app_pool, client_rate_per_s=1000, client_burst=1000, trusted_proxies=["127.0.0.0/8"]
    )
    with httpx.Client(base_url=gw.url, timeout=10) as http:
        answers = [_issue(http, event_id, "hammer", xff=f"10.7.{i}.1") for i in range(8)]
    results = [a.json()["result"] for a in answers]
    assert results[:3] == ["not_open"] * 3  # the bucket's burst
    limited = [a for a in answers if a.status_code == 429]
    assert len(limited) >= 4
    assert all(a.json()["result"] == "rate_limited" for a in limited)
    assert all(
        "x-rejected-by" not in a.headers and int(a.headers["retry-after"]) >= 1 for a in limited
    )
