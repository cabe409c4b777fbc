"""Creating an event writes its coupons row first; a repeat of the same create answers
200, another definition 409, and a crash in between is mended by a retry."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from couponrush.store.keys import event_keys
from tests.fixtures.app import AppServer


def post(app: AppServer, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{app.url}/v1/events", json=body, headers=app.admin, timeout=10)


async def test_create_writes_the_row_and_the_same_create_again_answers_200(
    db_app: AppServer, db: Any, event_id: str
) -> None:
    body = {
        "event_id": event_id,
        "name": "Spring",
        "total_stock": 5,
        "starts_at": "2030-01-01T00:00:00Z",
    }
    first = post(db_app, body)
    assert (first.status_code, first.json()["result"]) == (201, "created")
    row = await db.fetchrow(
        "SELECT name, total_stock, starts_at FROM coupons WHERE id = $1", event_id
    )
    assert (row["name"], row["total_stock"], row["starts_at"].year) == ("Spring", 5, 2030)
    again = post(db_app, body)
    assert (again.status_code, again.json()["result"]) == (200, "ok")
    assert {**again.json(), "result": "created"} == first.json()
    other = post(db_app, {**body, "total_stock": 6})
    assert (other.status_code, other.json()["result"]) == (409, "exists")
    assert "Error" not in other.json()["detail"]


async def test_a_row_without_redis_state_is_mended_by_a_retry(
    db_app: AppServer, db: Any, event_id: str
) -> None:
    # What a crash between the database step and the Redis step leaves behind.
    await db.execute("INSERT INTO coupons (id, name, total_stock) VALUES ($1, 'n', 3)", event_id)
    assert (
        post(db_app, {"event_id": event_id, "name": "other", "total_stock": 3}).status_code == 409
    )
    created = post(db_app, {"event_id": event_id, "name": "n", "total_stock": 3})
    assert created.status_code == 201
    assert created.json()["remaining"] == 3


async def test_32_creations_at_once_from_one_address_are_each_done_once(
    db_app: AppServer, db: Any, redis: Any, event_id: str
) -> None:
    """An operator's script: 16 events, each sent twice at once. Every answer is 201 or
    200 (the same definition) and each event exists once; a 503 would have to mean that
    nothing was written."""
    ids = [f"{event_id}-{i:02d}" for i in range(16)]
    bodies = [{"event_id": e, "name": f"Sale {e}", "total_stock": 7} for e in ids] * 2
    async with httpx.AsyncClient(headers=db_app.admin, timeout=30) as http:
        answers = await asyncio.gather(
            *(http.post(f"{db_app.url}/v1/events", json=b) for b in bodies)
        )
    by_event: dict[str, list[int]] = {}
    for body, answer in zip(bodies, answers, strict=True):
        assert answer.status_code in (200, 201), answer.text
        by_event.setdefault(str(body["event_id"]), []).append(answer.status_code)
    assert all(sorted(codes) == [200, 201] for codes in by_event.values()), by_event
    rows = await db.fetchval("SELECT count(*) FROM coupons WHERE id = ANY($1::text[])", ids)
    assert rows == len(ids)
    assert [await redis.get(event_keys(e).stock) for e in ids] == ["7"] * len(ids)
