"""The storefront and dashboard pages over HTTP: strict CSP, kept out of OpenAPI, and
the dashboard's login, session cookie, stream and viewer bound."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fixtures.app import AppServer, app_env, running_app
from tests.helpers import create_event

PAGES = ["/", "/e/spring", "/dashboard/spring", "/operator"]


def _frames(http: httpx.Client, path: str, count: int) -> list[dict[str, object]]:
    frames: list[dict[str, object]] = []
    with http.stream("GET", path, timeout=10) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert stream.headers["x-accel-buffering"] == "no"
        for line in stream.iter_lines():
            if line.startswith("data: "):
                frames.append(json.loads(line[6:]))
                if len(frames) == count:
                    break
    return frames


@pytest.mark.parametrize("path", PAGES)
def test_pages_are_static_under_a_strict_csp(http: httpx.Client, path: str) -> None:
    page = http.get(path)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "default-src 'none'" in csp
    assert "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    # No inline script: the one block without src is the page's strings, JSON data only.
    assert not re.search(r'<script(?![^>]*\b(?:src=|type="application/json"))', page.text)
    assert " style=" not in page.text
    for asset in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text):
        assert http.get(asset).status_code == 200, asset


def test_pages_are_not_in_the_openapi_document(http: httpx.Client) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    assert not [
        p for p in paths if p == "/" or p.startswith(("/e/", "/dashboard", "/static", "/operator"))
    ]


def test_the_dashboard_needs_a_login_and_streams_after_it(
    app_server: AppServer, http: httpx.Client, event_id: str
) -> None:
    create_event(app_server, event_id, 4)
    with app_server.sdk() as sdk:
        sdk.issue(event_id, "alice")
    stream = f"/dashboard/{event_id}/stream"
    assert http.get(stream).json()["result"] == "unauthorized"
    assert http.post("/dashboard/-/session", json={"token": "nope" * 6}).status_code == 401
    login = http.post("/dashboard/-/session", json={"token": app_server.admin_token})
    assert login.status_code == 200
    cookie = login.headers["set-cookie"]
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/dashboard", "Max-Age=1800"):
        assert attribute in cookie
    assert app_server.admin_token not in cookie
    assert http.get("/dashboard/-/session").status_code == 200
    first, second = _frames(http, stream, 2)
    event = first["event"]
    assert isinstance(event, dict)
    assert (event["issued"], event["remaining"], event["status"]) == (1, 3, "open")
    assert first["dlq_depth"] == second["dlq_depth"]
    assert isinstance(first["outbox"], dict)
    assert first["outbox"]["backlog"] == 1  # nobody consumes the outbox here
    assert second["issued_per_s"] is not None
    forged = str(http.cookies["couponrush_dashboard"]).split(".")[0] + ".AAAA"
    with httpx.Client(base_url=app_server.url, cookies={"couponrush_dashboard": forged}) as eve:
        assert eve.get(stream).status_code == 401
    assert http.delete("/dashboard/-/session").status_code == 204
    assert http.get(stream).status_code == 401


@pytest.fixture(scope="module")
def one_viewer_app(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppServer]:
    work: Path = tmp_path_factory.mktemp("oneviewer")
    token, secret = secrets.token_urlsafe(24), secrets.token_urlsafe(32)
    env = app_env(
        redis_url,
        token,
        secret,
        work / "metrics",
        dashboard_max_viewers="1",
        dashboard_interval_ms="5000",
    )
    with running_app(env, work, workers=1) as url:
        yield AppServer(url, token, secret, redis_url)


def test_viewers_over_the_bound_get_503_and_a_quiet_stream_is_kept_alive(
    one_viewer_app: AppServer, event_id: str
) -> None:
    create_event(one_viewer_app, event_id, 1)
    clients = [httpx.Client(base_url=one_viewer_app.url, timeout=10) for _ in range(2)]
    for client in clients:
        client.post("/dashboard/-/session", json={"token": one_viewer_app.admin_token})
    path = f"/dashboard/{event_id}/stream"
    with clients[0].stream("GET", path) as watching:
        assert watching.status_code == 200
        refused = clients[1].get(path)
        assert refused.status_code == 503
        assert refused.json()["result"] == "overloaded"
        assert int(refused.headers["retry-after"]) >= 1
        lines = watching.iter_lines()
        assert next(line for line in lines if line.startswith("data: "))  # the first frame
        assert next(lines) == ""
        assert next(lines) == ": keep-alive"  # within a second, long before the next frame
    for client in clients:
        client.close()
