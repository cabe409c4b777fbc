"""The event lifecycle over HTTP against real workers, Redis and PostgreSQL: the list and
its pages, PATCH (rename, window, top-up), close and archive, each with its bad inputs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis

from couponrush.store.keys import LIVE, event_keys
from tests.fixtures.app import AppServer
from tests.helpers import create_event
from tests.web.season import call

A_HOUR = timedelta(hours=1)


def _at(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat().replace("+00:00", "Z")


def _problem(answer: Any, status: int, result: str) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["result"] == result


def test_the_list_pages_newest_first_and_filters_by_status(
    db_app: AppServer, event_id: str
) -> None:
    ids = [f"{event_id}-{i}" for i in range(5)]
    for i, e in enumerate(ids):
        extra = {"starts_at": datetime.now(UTC) + A_HOUR} if i == 1 else {}
        create_event(db_app, e, 3, **extra)
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(50):  # every page of every event the session made
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = call(db_app, "GET", "/v1/events", params=params).json()
        assert len(page["items"]) <= 2
        seen += [e["event_id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    mine = [e for e in seen if e in ids]
    assert mine == list(reversed(ids))  # newest first, each once
    assert len(seen) == len(set(seen))
    upcoming = call(db_app, "GET", "/v1/events", params={"status": "scheduled", "limit": 100})
    assert ids[1] in {e["event_id"] for e in upcoming.json()["items"]}
    both = call(db_app, "GET", "/v1/events?status=open&status=scheduled&limit=100").json()
    assert set(ids) <= {e["event_id"] for e in both["items"]}
    assert {e["status"] for e in both["items"]} <= {"open", "scheduled"}


@pytest.mark.parametrize(
    "query",
    ["limit=0", "limit=101", "limit=x", "status=gone", "cursor=not*a*cursor", "cursor=AAAA"],
)
def test_bad_list_queries_are_422(db_app: AppServer, query: str) -> None:
    _problem(call(db_app, "GET", f"/v1/events?{query}"), 422, "invalid")


async def test_patch_renames_moves_the_window_and_tops_up(
    db_app: AppServer, redis: Redis, db: Any, event_id: str
) -> None:
    create_event(db_app, event_id, 2, starts_at=datetime.now(UTC) + A_HOUR)
    admin = db_app.admin_token
    path = f"/v1/events/{event_id}"
    renamed = call(db_app, "PATCH", path, admin, json={"name": "Autumn", "starts_at": None})
    assert renamed.status_code == 200, renamed.text
    assert (renamed.json()["name"], renamed.json()["status"]) == ("Autumn", "open")
    _problem(
        call(db_app, "PATCH", path, admin, json={"starts_at": _at(A_HOUR)}), 409, "already_started"
    )
    for user in ("u1", "u2", "u3"):
        call(db_app, "POST", f"{path}/issue", json={"user_id": user})
    topped = call(db_app, "PATCH", path, admin, json={"total_stock": 5})
    assert (topped.json()["remaining"], topped.json()["total_stock"]) == (3, 5)
    third = call(db_app, "POST", f"{path}/issue", json={"user_id": "u3"})
    assert (third.status_code, third.json()["slot"]) == (201, 3)  # the slots go on
    _problem(call(db_app, "PATCH", path, admin, json={"total_stock": 4}), 409, "stock_lowered")
    assert call(db_app, "PATCH", path, admin, json={"total_stock": 5}).status_code == 200
    later = _at(2 * A_HOUR)
    extended = call(db_app, "PATCH", path, admin, json={"ends_at": later})
    assert extended.json()["ends_at"] is not None
    row = await db.fetchrow(
        "SELECT name, total_stock, ends_at FROM coupons WHERE id = $1", event_id
    )
    assert (row["name"], row["total_stock"]) == ("Autumn", 5)
    assert await redis.hget(event_keys(event_id).meta, "total") == "5"


@pytest.mark.parametrize(
    ("body", "status", "result"),
    [
        ({}, 422, "invalid"),
        ({"name": None}, 422, "invalid"),
        ({"total_stock": None}, 422, "invalid"),
        ({"total_stock": 0}, 422, "invalid"),
        ({"total_stock": "9"}, 422, "invalid"),
        ({"colour": "red"}, 422, "invalid"),
        ({"ends_at": "tomorrow"}, 422, "invalid"),
        ({"ends_at": "2001-01-01T00:00:00Z"}, 422, "invalid"),
        ({"starts_at": "2099-01-02T00:00:00Z", "ends_at": "2099-01-01T00:00:00Z"}, 422, "invalid"),
    ],
)
def test_bad_patches_are_refused(
    db_app: AppServer, event_id: str, body: dict[str, Any], status: int, result: str
) -> None:
    create_event(db_app, event_id, 2)
    path = f"/v1/events/{event_id}"
    _problem(call(db_app, "PATCH", path, db_app.admin_token, json=body), status, result)


def test_lifecycle_routes_want_a_token_and_a_known_event(db_app: AppServer, event_id: str) -> None:
    create_event(db_app, event_id, 2)
    for method, suffix, body in (
        ("PATCH", "", {"name": "x"}),
        ("POST", "/close", None),
        ("POST", "/archive", None),
    ):
        path = f"/v1/events/{event_id}{suffix}"
        for token in (None, "wrong-token-" * 3):
            answer = call(db_app, method, path, token, json=body)
            _problem(answer, 401, "unauthorized")
            assert answer.headers["www-authenticate"] == "Bearer"
        unknown = call(
            db_app, method, f"/v1/events/{event_id}-none{suffix}", db_app.admin_token, json=body
        )
        _problem(unknown, 404, "not_found")
        _problem(
            call(db_app, method, f"/v1/events/bad%20id{suffix}", db_app.admin_token, json=body),
            422,
            "invalid",
        )
    text = call(
        db_app,
        "PATCH",
        f"/v1/events/{event_id}",
        db_app.admin_token,
        content=b"x",
        headers={"Content-Type": "text/plain"},
    )
    _problem(text, 415, "unsupported_media_type")


async def test_close_ends_issuing_and_archive_takes_the_event_out(
    db_app: AppServer, redis: Redis, event_id: str
) -> None:
    create_event(db_app, event_id, 3)
    admin, path = db_app.admin_token, f"/v1/events/{event_id}"
    won = call(db_app, "POST", f"{path}/issue", json={"user_id": "winner"}).json()
    _problem(call(db_app, "POST", f"{path}/archive", admin), 409, "not_finished")
    closed = call(db_app, "POST", f"{path}/close", admin)
    assert (closed.status_code, closed.json()["status"]) == (200, "closed")
    assert call(db_app, "POST", f"{path}/close", admin).json() == closed.json()  # the same
    _problem(call(db_app, "POST", f"{path}/issue", json={"user_id": "late"}), 409, "closed")
    again = call(db_app, "POST", f"{path}/issue", json={"user_id": "winner"})
    assert again.json() == {**won, "result": "already_issued"}
    assert await redis.zscore(LIVE, event_id) is not None
    archived = call(db_app, "POST", f"{path}/archive", admin)
    assert archived.json()["status"] == "archived"
    assert call(db_app, "POST", f"{path}/archive", admin).json() == archived.json()
    _problem(call(db_app, "PATCH", path, admin, json={"name": "x"}), 409, "archived")
    _problem(call(db_app, "POST", f"{path}/close", admin), 409, "archived")
    # Its keys stay, so a winner asking again still gets the same coupon, from Redis.
    kept = call(db_app, "POST", f"{path}/issue", json={"user_id": "winner"})
    assert kept.json() == {**won, "result": "already_issued"}
    assert call(db_app, "GET", path).json()["status"] == "archived"
    listed = call(db_app, "GET", "/v1/events", params={"status": "archived", "limit": 100})
    assert event_id in {e["event_id"] for e in listed.json()["items"]}


def test_closing_an_event_before_it_opens_reads_closed(db_app: AppServer, event_id: str) -> None:
    create_event(db_app, event_id, 3, starts_at=datetime.now(UTC) + A_HOUR)
    closed = call(db_app, "POST", f"/v1/events/{event_id}/close", db_app.admin_token)
    assert closed.json()["status"] == "closed"
    _problem(
        call(db_app, "POST", f"/v1/events/{event_id}/issue", json={"user_id": "a"}), 409, "closed"
    )
