"""The SDK against real app workers: typed models, outcomes, typed misuse, request ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from couponrush.client import AsyncClient, Conflict, Invalid, NotFound, RetryPolicy, Unauthorized
from couponrush.store.keys import event_keys
from couponrush.web.schemas import EventResponse, IssueResponse
from tests.fixtures.app import AppServer


def test_events_are_created_and_read_as_the_api_s_own_models(
    app_server: AppServer, event_id: str
) -> None:
    with app_server.sdk() as client:
        created = client.create_event(event_id, 3, name="Spring sale")
        shown = client.get_event(event_id)
        with pytest.raises(Conflict):
            client.create_event(event_id, 3)
        with pytest.raises(Invalid):
            client.create_event(f"{event_id}-0", 0)
        with pytest.raises(NotFound):
            client.get_event(f"{event_id}-none")
    assert isinstance(created, EventResponse)
    assert (created.result, created.name, created.total_stock) == ("created", "Spring sale", 3)
    assert (shown.result, shown.remaining, shown.issued, shown.status) == ("ok", 3, 0, "open")
    with app_server.sdk() as stranger:
        stranger.admin_token = "x" * 24
        with pytest.raises(Unauthorized):
            stranger.create_event(f"{event_id}-2", 3)


def test_issue_outcomes_from_win_to_sold_out(app_server: AppServer, event_id: str) -> None:
    with app_server.sdk() as client:
        client.create_event(event_id, 1)
        won = client.issue(event_id, "alice")
        again = client.issue(event_id, "alice")
        lost = client.issue(event_id, "bob")
        held = client.get_issuance(event_id, "alice")
        none = client.get_issuance(event_id, "bob")
        with pytest.raises(Invalid):
            client.issue(event_id, "not a user id")
        with pytest.raises(NotFound):
            client.issue(f"{event_id}-none", "alice")
    assert (won.result, won.status, won.won, won.final) == ("issued", 201, True, True)
    assert isinstance(won.coupon, IssueResponse)
    assert won.coupon.slot == 1
    assert again.result == "already_issued"
    assert again.coupon == won.coupon.model_copy(update={"result": "already_issued"})
    assert (lost.result, lost.status, lost.won, lost.final) == ("sold_out", 410, False, True)
    assert lost.problem is not None
    assert lost.problem.result == "sold_out"
    assert held is not None
    assert held.coupon_code == won.coupon.coupon_code
    assert none is None


def test_not_open_and_closed_are_outcomes(app_server: AppServer, event_id: str) -> None:
    now = datetime.now(UTC)
    with app_server.sdk() as client:
        client.create_event(f"{event_id}-s", 5, starts_at=now + timedelta(hours=1))
        client.create_event(
            f"{event_id}-c",
            5,
            starts_at=now - timedelta(hours=1),
            ends_at=now - timedelta(seconds=1),
        )
        early = client.issue(f"{event_id}-s", "alice")
        late = client.issue(f"{event_id}-c", "alice")
    assert (early.result, early.status, early.final) == ("not_open", 409, True)
    assert (late.result, late.status, late.final) == ("closed", 409, True)


async def test_the_request_id_reaches_the_outbox(
    app_server: AppServer, redis: Redis, event_id: str
) -> None:
    async with AsyncClient(app_server.url, admin_token=app_server.admin_token) as client:
        await client.create_event(event_id, 5)
        mine = await client.issue(event_id, "alice", request_id="shop-42")
        assert mine.request_id == "shop-42"
        generated = await client.issue(event_id, "bob")
    entries: Any = await redis.xrange(event_keys(event_id).outbox)
    told = {fields["user_id"]: fields["request_id"] for _, fields in entries}
    assert told == {"alice": "shop-42", "bob": generated.request_id}
    assert generated.request_id.startswith("sdk-")


async def test_the_per_user_bucket_s_429_is_waited_out(
    app_server: AppServer, event_id: str
) -> None:
    """A user hammering an event that is not open yet drains its bucket (burst 10): the
    SDK then gets 429 + Retry-After, waits at least that long, and ends with not_open."""
    later = datetime.now(UTC) + timedelta(hours=1)
    with app_server.sdk() as client:
        client.create_event(event_id, 5, starts_at=later)
    async with httpx.AsyncClient(base_url=app_server.url) as raw:
        for _ in range(12):
            await raw.post(f"/v1/events/{event_id}/issue", json={"user_id": "eager"})
    policy = RetryPolicy(max_attempts=5, deadline_s=30)
    async with AsyncClient(app_server.url, policy=policy) as client:
        outcome = await client.issue(event_id, "eager")
    first = outcome.attempts[0]
    assert (first.status, first.result) == (429, "rate_limited")
    assert first.retry_after_s >= 1
    assert all(a.wait_s >= a.retry_after_s for a in outcome.attempts)
    assert (outcome.result, outcome.final) == ("not_open", True)
