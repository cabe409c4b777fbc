"""Creating an event writes its coupons row first; a crash in between is mended by a retry."""

from __future__ import annotations

from typing import Any

import httpx

from tests.fixtures.app import AppServer


def post(app: AppServer, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(f"{app.url}/v1/events", json=body, headers=app.admin, timeout=10)


async def test_create_writes_the_coupons_row(db_app: AppServer, db: Any, event_id: str) -> None:
    body = {"event_id": event_id, "name": "Spring", "total_stock": 5,
            "starts_at": "2030-01-01T00:00:00Z"}  # fmt: skip
    assert post(db_app, body).status_code == 201
    row = await db.fetchrow("SELECT name, total_stock, starts_at FROM coupons WHERE id = $1",
                            event_id)  # fmt: skip
    assert (row["name"], row["total_stock"], row["starts_at"].year) == ("Spring", 5, 2030)
    assert post(db_app, body).status_code == 409
    assert post(db_app, {**body, "total_stock": 6}).json()["result"] == "exists"


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
