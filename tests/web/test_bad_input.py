"""Whatever a client sends, the answer is a clear 4xx problem, never a 500."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.fixtures.app import AppServer
from tests.helpers import create_event

J = {"Content-Type": "application/json"}
EV = "bad-input-event"
HANGUL = re.compile(r"[\uac00-\ud7a3]")
ISSUE = f"/v1/events/{EV}/issue"

CASES: list[tuple[str, str, str, bytes, dict[str, str], int, str]] = [
    ("malformed json", "POST", ISSUE, b'{"user_id": ', J, 400, "malformed_json"),
    ("not json at all", "POST", ISSUE, b"user_id=alice", J, 400, "malformed_json"),
    ("empty body", "POST", ISSUE, b"", J, 400, "malformed_json"),
    ("json array", "POST", ISSUE, b'["alice"]', J, 422, "invalid"),
    ("json string", "POST", ISSUE, b'"alice"', J, 422, "invalid"),
    ("missing user_id", "POST", ISSUE, b"{}", J, 422, "invalid"),
    ("user_id is a number", "POST", ISSUE, b'{"user_id": 42}', J, 422, "invalid"),
    ("user_id is null", "POST", ISSUE, b'{"user_id": null}', J, 422, "invalid"),
    ("user_id is a list", "POST", ISSUE, b'{"user_id": ["a"]}', J, 422, "invalid"),
    ("empty user_id", "POST", ISSUE, b'{"user_id": ""}', J, 422, "invalid"),
    ("oversized user_id", "POST", ISSUE, b'{"user_id": "' + b"a" * 129 + b'"}', J, 422, "invalid"),
    ("control character", "POST", ISSUE, b'{"user_id": "al\\u0000ice"}', J, 422, "invalid"),
    ("newline in id", "POST", ISSUE, b'{"user_id": "al\\nice"}', J, 422, "invalid"),
    ("space in id", "POST", ISSUE, b'{"user_id": "al ice"}', J, 422, "invalid"),
    ("unicode id", "POST", ISSUE, '{"user_id": "ålice"}'.encode(), J, 422, "invalid"),
    ("unknown field", "POST", ISSUE, b'{"user_id": "a", "admin": true}', J, 422, "invalid"),
    ("huge body", "POST", ISSUE, b'{"user_id": "' + b"a" * 100_000 + b'"}', J, 413,
     "payload_too_large"),
    ("text/plain", "POST", ISSUE, b'{"user_id": "a"}', {"Content-Type": "text/plain"}, 415,
     "unsupported_media_type"),
    ("form encoded", "POST", ISSUE, b"user_id=a",
     {"Content-Type": "application/x-www-form-urlencoded"}, 415, "unsupported_media_type"),
    ("no content type", "POST", ISSUE, b'{"user_id": "a"}', {}, 415, "unsupported_media_type"),
    ("wrong method GET", "GET", ISSUE, b"", {}, 405, "method_not_allowed"),
    ("wrong method PUT", "PUT", ISSUE, b'{"user_id": "a"}', J, 405, "method_not_allowed"),
    ("bad event id", "POST", "/v1/events/bad%20id!/issue", b'{"user_id": "a"}', J, 422, "invalid"),
    ("oversized event id", "POST", f"/v1/events/{'e' * 65}/issue", b'{"user_id": "a"}', J, 422,
     "invalid"),
    ("create: malformed", "POST", "/v1/events", b"{", J, 400, "malformed_json"),
    ("create: huge", "POST", "/v1/events", b"{" + b" " * 50_000 + b"}", J, 413,
     "payload_too_large"),
    ("create: text", "POST", "/v1/events", b"x", {"Content-Type": "text/plain"}, 415,
     "unsupported_media_type"),
    ("create: stock as text", "POST", "/v1/events",
     b'{"event_id": "x1", "name": "n", "total_stock": "10"}', J, 422, "invalid"),
    ("create: ends before starts", "POST", "/v1/events",
     b'{"event_id": "x1", "name": "n", "total_stock": 1, "starts_at": "2030-01-02T00:00:00Z",'
     b' "ends_at": "2030-01-01T00:00:00Z"}', J, 422, "invalid"),
    ("unknown route", "GET", "/v2/nothing", b"", {}, 404, "not_found"),
    ("lookup: bad user", "GET", f"/v1/events/{EV}/issuances/a%20b", b"", {}, 422, "invalid"),
]  # fmt: skip


each_case = pytest.mark.parametrize(
    ("name", "method", "path", "body", "headers", "status", "result"),
    CASES,
    ids=[c[0] for c in CASES],
)


@pytest.fixture(scope="module")
def bad_input_event(app_server: AppServer) -> None:
    with httpx.Client(base_url=app_server.url) as http:
        if http.get(f"/v1/events/{EV}").status_code == 404:
            create_event(app_server, EV, 10)


@pytest.mark.usefixtures("bad_input_event")
@each_case
def test_bad_request_gets_a_clear_problem(
    http: httpx.Client,
    name: str,
    method: str,
    path: str,
    body: bytes,
    headers: dict[str, str],
    status: int,
    result: str,
) -> None:
    response = http.request(method, path, content=body, headers=headers)
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert (problem["status"], problem["result"]) == (status, result)
    assert problem["detail"]
    assert problem["type"].startswith("urn:couponrush:problem:")


@pytest.mark.usefixtures("bad_input_event")
def test_server_is_healthy_and_nothing_was_issued_after_bad_input(http: httpx.Client) -> None:
    for _name, method, path, body, headers, *_ in CASES:
        http.request(method, path, content=body, headers=headers)
    assert http.get("/healthz").status_code == 200
    assert http.get(f"/v1/events/{EV}").json()["issued"] == 0
    ok = http.post(ISSUE, json={"user_id": "good-user"})
    assert ok.status_code in (200, 201)


@pytest.mark.usefixtures("bad_input_event")
@each_case
def test_korean_gets_the_same_codes_in_korean(
    http: httpx.Client,
    name: str,
    method: str,
    path: str,
    body: bytes,
    headers: dict[str, str],
    status: int,
    result: str,
) -> None:
    korean = {**headers, "Accept-Language": "ko-KR,ko;q=0.9,en;q=0.8"}
    response = http.request(method, path, content=body, headers=korean)
    english = http.request(method, path, content=body, headers=headers)
    problem, same = response.json(), english.json()
    assert (response.status_code, problem["result"]) == (status, result)
    assert response.headers["content-language"] == "ko"
    assert english.headers["content-language"] == "en"
    assert response.headers["vary"] == english.headers["vary"] == "accept-language"
    assert HANGUL.search(problem["title"])
    assert HANGUL.search(problem["detail"])
    assert {k: v for k, v in problem.items() if k not in ("title", "detail")} == {
        k: v for k, v in same.items() if k not in ("title", "detail")
    }
