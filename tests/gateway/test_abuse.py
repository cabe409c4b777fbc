"""Oversized bodies, slow clients and header floods stop at the gateway."""

from __future__ import annotations

import socket
import time

import httpx

from couponrush.stack.ready import wait_until
from tests.helpers import create_event

from .conftest import AppPool, GatewayFactory


def test_oversized_bodies_and_header_floods_are_refused_at_the_gateway(
    app_pool: AppPool, start_gateway: GatewayFactory, event_id: str
) -> None:
    create_event(app_pool, event_id, 10)
    gw = start_gateway(app_pool, client_rate_per_s=1000, client_burst=1000)
    url = f"/v1/events/{event_id}/issue"
    with httpx.Client(base_url=gw.url, timeout=10) as http:
        big = http.post(
            url,
            content=b'{"user_id":"' + b"a" * 50_000 + b'"}',
            headers={"Content-Type": "application/json"},
        )
        assert (big.status_code, big.json()["result"]) == (413, "payload_too_large")
        huge_header = http.post(url, json={"user_id": "h"}, headers={"X-Junk": "j" * 20_000})
        flood = http.post(
            url, json={"user_id": "h"}, headers={f"X-Flood-{i}": "f" * 1000 for i in range(64)}
        )
        for refused in (big, huge_header, flood):
            assert refused.headers["x-rejected-by"] == "gateway"
            assert refused.headers["content-type"] == "application/problem+json"
        assert huge_header.status_code in (400, 431)
        assert flood.status_code in (400, 431)
        assert http.post(url, json={"user_id": "fine"}).status_code == 201


def test_slow_clients_are_cut_off_and_others_are_served(
    app_pool: AppPool, start_gateway: GatewayFactory, event_id: str
) -> None:
    create_event(app_pool, event_id, 100)
    gw = start_gateway(
        app_pool, client_timeout_s=1, conn_per_client=100, client_rate_per_s=1000, client_burst=1000
    )
    port = int(gw.url.rsplit(":", 1)[1])
    not_found_before = app_pool.issue_count("not_found")
    slow = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(30)]
    try:
        for sock in slow:  # a request line and one header, then silence
            sock.sendall(b"POST /v1/events/x/issue HTTP/1.1\r\nHost: x\r\n")
        with httpx.Client(base_url=gw.url, timeout=5) as http:
            started = time.monotonic()
            ok = http.post(f"/v1/events/{event_id}/issue", json={"user_id": "quick"})
            assert ok.status_code == 201
            assert time.monotonic() - started < 1
        deadline = time.monotonic() + 5  # the gateway closes them after client_timeout_s
        closed = 0
        for sock in slow:
            sock.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                data = sock.recv(4096)
            except ConnectionResetError:
                data = b""
            closed += data == b"" or b" 408 " in data[:20]
        assert closed == len(slow)
    finally:
        for sock in slow:
            sock.close()
    # The slow ones were for an unknown event: they would count as not_found. Once one
    # whole request for an unknown event shows in the workers' counters, they must not.
    httpx.post(f"{gw.url}/v1/events/no-such-{event_id}/issue", json={"user_id": "w"})
    wait_until(lambda: app_pool.issue_count("not_found") > not_found_before, "metrics", 5)
    assert app_pool.issue_count("not_found") == not_found_before + 1
