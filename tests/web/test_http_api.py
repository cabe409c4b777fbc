"""The HTTP contract of DESIGN §4 against real app workers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from couponrush.core.codes import CodeSigner
from tests.fixtures.app import AppServer
from tests.helpers import create_event


def _at(delta_s: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=delta_s)


def test_create_then_show_an_event(
    http: httpx.Client, app_server: AppServer, event_id: str
) -> None:
    created = create_event(app_server, event_id, 3)
    assert created.result == "created"
    assert (created.total_stock, created.remaining, created.issued) == (3, 3, 0)
    assert created.status == "open"
    shown = http.get(f"/v1/events/{event_id}").json()
    assert shown["event_id"] == event_id
    assert shown["result"] == "ok"


def test_create_is_refused_twice_without_token_and_when_invalid(
    http: httpx.Client, app_server: AppServer, event_id: str
) -> None:
    create_event(app_server, event_id, 3)
    again = http.post(
        "/v1/events",
        json={"event_id": event_id, "name": "x", "total_stock": 1},
        headers=app_server.admin,
    )
    assert (again.status_code, again.json()["result"]) == (409, "exists")
    body = {"event_id": event_id + "-b", "name": "x", "total_stock": 1}
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
        denied = http.post("/v1/events", json=body, headers=headers)
        assert (denied.status_code, denied.json()["result"]) == (401, "unauthorized")
        assert denied.headers["www-authenticate"] == "Bearer"
    bad = http.post("/v1/events", json={**body, "total_stock": 0}, headers=app_server.admin)
    assert (bad.status_code, bad.json()["result"]) == (422, "invalid")


def test_issue_then_retry_returns_the_same_coupon(
    http: httpx.Client, app_server: AppServer, event_id: str
) -> None:
    create_event(app_server, event_id, 1)
    first = http.post(f"/v1/events/{event_id}/issue", json={"user_id": "alice"})
    assert first.status_code == 201
    won = first.json()
    expected = CodeSigner(app_server.coupon_secret.encode()).code(event_id, 1, "alice")
    assert (won["result"], won["slot"], won["coupon_code"]) == ("issued", 1, expected)
    for _ in range(3):  # also once the worker answers from its sold-out cache
        http.post(f"/v1/events/{event_id}/issue", json={"user_id": "bob"})
        again = http.post(f"/v1/events/{event_id}/issue", json={"user_id": "alice"})
        assert again.status_code == 200
        assert again.json() == {**won, "result": "already_issued"}
    lost = http.post(f"/v1/events/{event_id}/issue", json={"user_id": "bob"})
    assert (lost.status_code, lost.json()["result"]) == (410, "sold_out")
    assert lost.headers["content-type"] == "application/problem+json"
    held = http.get(f"/v1/events/{event_id}/issuances/alice").json()
    assert held["coupon_code"] == won["coupon_code"]
    assert http.get(f"/v1/events/{event_id}/issuances/bob").status_code == 404
    assert http.get(f"/v1/events/{event_id}").json()["status"] == "sold_out"


def test_window_answers(http: httpx.Client, app_server: AppServer, event_id: str) -> None:
    create_event(app_server, f"{event_id}-s", 5, starts_at=_at(3600))
    early = http.post(f"/v1/events/{event_id}-s/issue", json={"user_id": "u"})
    assert (early.status_code, early.json()["result"]) == (409, "not_open")
    assert "starts_at" in early.json()
    assert http.get(f"/v1/events/{event_id}-s").json()["status"] == "scheduled"
    create_event(app_server, f"{event_id}-c", 5, starts_at=_at(-60), ends_at=_at(-1))
    late = http.post(f"/v1/events/{event_id}-c/issue", json={"user_id": "u"})
    assert (late.status_code, late.json()["result"]) == (409, "closed")
    assert http.get(f"/v1/events/{event_id}-c").json()["status"] == "closed"


def test_unknown_event(http: httpx.Client, event_id: str) -> None:
    missing = http.post(f"/v1/events/{event_id}/issue", json={"user_id": "u"})
    assert (missing.status_code, missing.json()["result"]) == (404, "not_found")
    assert http.get(f"/v1/events/{event_id}").status_code == 404


def test_health_readiness_metrics_and_docs(http: httpx.Client) -> None:
    assert http.get("/healthz").json() == {"result": "ok"}
    assert http.get("/readyz").json() == {"result": "ok"}
    assert "couponrush_issue_requests_total" in http.get("/metrics").text
    assert http.get("/docs").status_code == 200
    spec = http.get("/openapi.json").json()
    issue = spec["paths"]["/v1/events/{event_id}/issue"]["post"]
    assert {"200", "201", "404", "409", "410", "422", "429", "503"} <= set(issue["responses"])
    assert "Accept-Language" in [p["name"] for p in issue["parameters"] if p["in"] == "header"]
    assert "Content-Language" in issue["responses"]["410"]["headers"]
    assert "/v1/events/{event_id}/issuances/{user_id}" in spec["paths"]


def test_every_answer_echoes_the_request_id(http: httpx.Client, event_id: str) -> None:
    given = {"X-Request-ID": "client-7"}
    answers = [
        http.post(f"/v1/events/{event_id}/issue", json={"user_id": "u"}, headers=given),
        http.get(f"/v1/events/{event_id}", headers=given),
        http.post("/v1/events", content=b"x", headers={**given, "content-type": "text/plain"}),
        http.get("/healthz", headers=given),
    ]
    assert [a.headers["x-request-id"] for a in answers] == ["client-7"] * 4
    made = {http.get("/healthz").headers["x-request-id"] for _ in range(3)}
    made.add(
        http.post(f"/v1/events/{event_id}/issue", json={"user_id": "u"}).headers["x-request-id"]
    )
    assert len(made) == 4
