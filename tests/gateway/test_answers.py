"""Every answer the gateway makes itself is a JSON problem with its result code, its
request id, and Retry-After or Allow where they apply; the app's internal routes and the
gateway's metrics are not for the public."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import httpx
import pytest

from .conftest import AppPool, GatewayFactory

HEX_ID = re.compile(r"^[0-9a-f]{32}$")


def problem(answer: httpx.Response, status: int, result: str) -> dict[str, object]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["x-rejected-by"] == "gateway"
    body: dict[str, object] = answer.json()
    assert (body["status"], body["result"]) == (status, result)
    return body


@pytest.mark.parametrize(
    ("path", "allow"),
    [
        ("/v1/events", "GET, HEAD, POST"),
        ("/v1/events/spring/issue", "POST"),
        ("/v1/events/spring/close", "POST"),
        ("/v1/events/spring/archive", "POST"),
        ("/v1/events/spring", "GET, HEAD, PATCH"),
        ("/v1/events/spring/issuances/alice", "GET, HEAD"),
        ("/v1/events/spring/winners", "GET, HEAD"),
        ("/v1/coupons/ABCD-EFGH-IJKL-MNOP", "GET, HEAD"),
        ("/v1/coupons/ABCD-EFGH-IJKL-MNOP/redeem", "POST"),
        ("/v1/coupons/ABCD-EFGH-IJKL-MNOP/revoke", "POST"),
        ("/v1/audit", "GET, HEAD"),
        ("/healthz", "GET, HEAD"),
        ("/readyz", "GET, HEAD"),
    ],
)
def test_methods_the_api_lacks_get_405_with_the_paths_allow(
    app_pool: AppPool, start_gateway: GatewayFactory, path: str, allow: str
) -> None:
    gw = start_gateway(app_pool)
    refused = [
        m
        for m in ("TRACE", "DELETE", "PUT", "PATCH", "OPTIONS", "PROPFIND")
        if m not in allow.split(", ")
    ]
    with httpx.Client(base_url=gw.url, timeout=5) as http:
        for method in refused:
            answer = http.request(method, path, headers={"X-Request-ID": "rq-405"})
            problem(answer, 405, "method_not_allowed")
            assert answer.headers["allow"] == allow, (method, path)
            assert answer.headers["x-request-id"] == "rq-405"
    assert not [line for line in gw.access_log() if line["upstream"]]


def test_request_ids_are_echoed_on_every_answer_and_passed_to_the_app(
    app_pool: AppPool, start_gateway: GatewayFactory
) -> None:
    gw = start_gateway(app_pool)
    with httpx.Client(base_url=gw.url, timeout=5) as http:
        mine = http.get("/healthz", headers={"X-Request-ID": "client-id.1"})
        bad = http.get("/healthz", headers={"X-Request-ID": "no spaces <here>"})
        refused = http.post(
            "/v1/events/x/issue", content=b"x" * 5000, headers={"X-Request-ID": "big-1"}
        )
        own = http.get("/gateway/healthz")
    assert mine.headers["x-request-id"] == "client-id.1"
    assert HEX_ID.match(bad.headers["x-request-id"])
    assert [v for k, v in mine.headers.multi_items() if k == "x-request-id"] == ["client-id.1"]
    problem(refused, 413, "payload_too_large")
    assert refused.headers["x-request-id"] == "big-1"
    assert HEX_ID.match(own.headers["x-request-id"])
    (line,) = [line for line in gw.access_log() if line["request_id"] == "client-id.1"]
    assert line["upstream"]
    assert line["status"] == 200


def test_internal_routes_and_the_app_metrics_are_not_reachable_through_the_gateway(
    app_pool: AppPool, start_gateway: GatewayFactory
) -> None:
    gw = start_gateway(app_pool)
    token = {"Authorization": f"Bearer {app_pool.feed_token}"}
    with httpx.Client(base_url=gw.url, timeout=5) as http:
        for path in (
            "/internal/edge/soldout",
            "/%69nternal/edge/soldout",
            "/v1/../internal/edge/soldout",
            "/internal/",
            "/_gw/400",
            "/metrics",
            "/%6detrics",
            "/v1/../metrics",
        ):
            problem(http.get(path, headers=token), 404, "not_found")
    with app_pool.direct() as direct:  # the workers do serve it, with the token only
        assert direct.get("/internal/edge/soldout", headers=token).status_code == 200
        assert direct.get("/internal/edge/soldout").status_code == 401
        assert "couponrush_issue_requests_total" in direct.get("/metrics").text
    assert not [line for line in gw.access_log() if line["upstream"]]


def test_metrics_are_for_loopback_and_not_for_a_client_behind_a_trusted_proxy(
    app_pool: AppPool, start_gateway: GatewayFactory
) -> None:
    gw = start_gateway(app_pool, trusted_proxies=["127.0.0.1/32"])
    with httpx.Client(base_url=gw.url, timeout=5) as http:
        http.get("/healthz")
        scraped = http.get("/gateway/metrics")
        relayed = http.get("/gateway/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
    assert scraped.status_code == 200
    assert scraped.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert 'couponrush_gateway_responses_total{status="200"}' in scraped.text
    problem(relayed, 404, "not_found")


def test_a_worker_that_is_gone_or_silent_is_503_unavailable_with_retry_after(
    redis_url: str, start_gateway: GatewayFactory, tmp_path: Path
) -> None:
    silent = tmp_path / "silent.sock"
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(silent))
        listener.listen(16)  # connections wait in the backlog; none is ever answered
        for sockets in ([str(tmp_path / "gone.sock")], [str(silent)]):
            pool = AppPool(sockets, [], "unused", redis_url, "unused")
            gw = start_gateway(pool, retry_after_s=2, retry_after_spread_s=1)
            answer = httpx.get(f"{gw.url}/healthz", timeout=10)
            body = problem(answer, 503, "unavailable")
            assert "No app worker answered" in str(body["detail"])
            assert answer.headers["retry-after"] in ("2", "3")


def test_without_lua_the_gateway_still_answers_in_json_and_proxies(
    app_pool: AppPool, start_gateway: GatewayFactory
) -> None:
    gw = start_gateway(app_pool, gateway_lua=False, client_rate_per_s=1, client_burst=3)
    directives = [line.split()[0] for line in gw.conf.read_text().splitlines() if line.strip()]
    assert not [d for d in directives if ("lua" in d or d == "load_module") and d[0] != "#"]
    with httpx.Client(base_url=gw.url, timeout=5) as http:
        assert http.get("/healthz").status_code == 200
        problem(http.request("TRACE", "/healthz"), 405, "method_not_allowed")
        problem(http.get("/gateway/metrics"), 404, "not_found")
        limited = [http.get("/healthz") for _ in range(4)][-1]
        problem(limited, 429, "rate_limited")
