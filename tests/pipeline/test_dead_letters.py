"""A poison message and slot conflicts go to the dead-letter stream; replay after a fix."""

from __future__ import annotations

import json
from typing import Any

import httpx
from redis.asyncio import Redis

from couponrush.core.codes import CodeSigner
from couponrush.store.keys import event_keys
from tests.fixtures.app import AppServer
from tests.fixtures.pipeline import Pipeline
from tests.helpers import create_event, db_rows, dead_letters, poll


def issue(app: AppServer, event_id: str, user: str) -> dict[str, Any]:
    url = f"{app.url}/v1/events/{event_id}/issue"
    response = httpx.post(url, json={"user_id": user}, timeout=10)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_poison_and_conflicts_are_dead_lettered_then_replayed(
    db_app: AppServer, pipeline: Pipeline, db: Any, redis: Redis, event_id: str
) -> None:
    create_event(db_app, event_id, 10)
    signer = CodeSigner(db_app.coupon_secret.encode())
    # A forged row holds slot 3 before its real winner's message arrives.
    await db.execute(
        "INSERT INTO coupon_issuances (event_id, user_id, slot, coupon_code, issued_at) "
        "VALUES ($1, 'eve', 3, 'FORGED', now())",
        event_id,
    )
    told = {user: issue(db_app, event_id, user) for user in ("alice", "bob", "carol")}
    outbox = event_keys(event_id).outbox
    entries: Any = await redis.xrange(outbox)
    bob_entry = next(eid for eid, f in entries if f["user_id"] == "bob")
    # bob's entry corrupted in transit; mallory's forged with alice's slot.
    await redis.xdel(outbox, bob_entry)
    await redis.xadd(outbox, {"user_id": "bob", "slot": "two", "issued_at": "1", "request_id": "r"})
    await redis.xadd(
        outbox, {"user_id": "mallory", "slot": "1", "issued_at": "1", "request_id": "forged"}
    )
    pipeline.start("consume", "stream")

    async def three_letters() -> bool:
        return len(await dead_letters(redis, event_id)) == 3

    await poll(three_letters, "three dead letters", 20)
    letters = {d.payload["user_id"]: d for d in await dead_letters(redis, event_id)}
    assert letters["bob"].kind == "parse"
    assert "slot" in letters["bob"].reason
    assert letters["carol"].kind == "conflict"
    assert "'eve'" in letters["carol"].reason
    assert letters["mallory"].kind == "conflict"
    assert "'alice'" in letters["mallory"].reason
    assert letters["carol"].attempts >= 1
    assert letters["carol"].payload["slot"] == "3"

    listed = pipeline.cli("dlq", "list", "--json")
    assert letters["bob"].id in {d["id"] for d in json.loads(listed.stdout)}
    shown = pipeline.cli("dlq", "show", letters["carol"].id)
    assert json.loads(shown.stdout)["reason"] == letters["carol"].reason

    assert pipeline.cli("dlq", "replay", letters["bob"].id, "--set", "slot=2").returncode == 0
    assert pipeline.cli("dlq", "replay", letters["carol"].id).returncode == 1  # eve still there
    await db.execute(
        "DELETE FROM coupon_issuances WHERE event_id = $1 AND user_id = 'eve'", event_id
    )
    assert pipeline.cli("dlq", "replay", letters["carol"].id).returncode == 0
    assert pipeline.cli("dlq", "replay", letters["mallory"].id).returncode == 1

    remaining = await dead_letters(redis, event_id)
    assert [d.payload["user_id"] for d in remaining] == ["mallory"]
    rows = await db_rows(db, event_id)
    assert rows == {u: (b["slot"], b["coupon_code"]) for u, b in told.items()}
    assert all(code == signer.code(event_id, slot, u) for u, (slot, code) in rows.items())
    assert pipeline.cli("reconcile", event_id).returncode == 0
