"""A shuffled opening on the storefront, in a real headless chromium through the gateway:
the queue view (place, estimated wait, commitment, then the seed), the coupon once
admitted, and the verify page recomputing the order in the browser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from couponrush.core.queue import ticket
from tests.client.browser import browser, phone, shots
from tests.gateway.conftest import AppPool, Gateway, GatewayFactory, start_pool, stop_pool
from tests.helpers import create_event

__all__ = ["browser", "phone", "shots"]


@pytest.fixture(scope="module")
def pool(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppPool]:
    workers = start_pool(redis_url, tmp_path_factory.mktemp("pool"), 1)
    yield workers
    stop_pool(workers)


@pytest.fixture
def gateway(pool: AppPool, start_gateway: GatewayFactory) -> Gateway:
    return start_gateway(pool, client_rate_per_s=1000, client_burst=1000)


def test_the_queue_view_waits_then_claims_and_the_order_verifies(
    phone: Page, gateway: Gateway, pool: AppPool, event_id: str, shots: Path
) -> None:
    starts = datetime.now(UTC) + timedelta(seconds=5)
    event = create_event(
        pool,
        event_id,
        2,
        name="Fair drop",
        starts_at=starts,
        opening="shuffled",
        admit_per_wave=1,
        admit_every_s=2,
    )
    with pool.sdk() as sdk:
        for user in ("queued-1", "queued-2"):  # they join and never claim
            sdk.join_queue(event_id, user)
    phone.goto(f"{gateway.url}/e/{event_id}")
    expect(phone.locator("#event-name")).to_have_text("Fair drop")
    field = phone.get_by_label("Your user id")
    field.fill("frank")
    field.press("Enter")
    expect(phone.locator("#queue")).to_be_visible()
    expect(phone.locator("#queue-position")).to_have_text("drawn at the opening")
    expect(phone.locator("#queue-commitment")).to_have_text(event.commitment or "")
    expect(phone.locator("#queue-verify")).to_be_hidden()
    phone.screenshot(path=shots / "storefront-prequeue.png", full_page=True)
    opened = re.compile(r"^[123] of 3$")
    expect(phone.locator("#queue-position")).to_have_text(opened, timeout=15_000)
    with pool.sdk() as sdk:
        seed, place = sdk.queue_state(event_id).seed, sdk.queue_place(event_id, "frank")
    expect(phone.locator("#queue-seed")).to_have_text(seed or "")
    expect(phone.locator("#queue-position")).to_have_text(f"{place.position} of 3")
    phone.screenshot(path=shots / "storefront-queue-open.png", full_page=True)
    expect(phone.locator('#status[data-state="issued"]')).to_be_visible(timeout=20_000)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    phone.locator("#queue-verify").click()
    expect(phone).to_have_url(f"{gateway.url}/verify/{event_id}")
    expect(phone.locator('#verdict[data-state="verified"]')).to_be_visible()
    expect(phone.locator("#checks")).to_contain_text(f"frank: position {place.position}")
    expect(phone.locator("#seed")).to_have_text(seed or "")
    phone.screenshot(path=shots / "verify.png", full_page=True)


def test_the_verify_page_fails_a_seed_that_is_not_the_committed_one(
    phone: Page, gateway: Gateway, pool: AppPool, event_id: str
) -> None:
    """The page can fail: an order document whose seed is not the committed one (the
    browser is handed a forged document in place of the server's)."""
    starts = datetime.now(UTC) + timedelta(seconds=1)
    create_event(pool, event_id, 1, starts_at=starts, opening="shuffled")
    with pool.sdk() as sdk:
        sdk.join_queue(event_id, "gina")
    forged = {
        "result": "ok",
        "event_id": event_id,
        "commitment": "00" * 32,
        "seed": "11" * 32,
        "prequeue": [ticket(event_id, "gina")],
        "late": [],
    }
    phone.route(f"**/v1/events/{event_id}/queue/order", lambda route: route.fulfill(json=forged))
    phone.goto(f"{gateway.url}/verify/{event_id}")
    expect(phone.locator('#verdict[data-state="failed"]')).to_be_visible()
    expect(phone.locator("#checks")).to_contain_text("is the commitment: NO")
