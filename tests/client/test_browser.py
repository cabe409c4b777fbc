"""The storefront and the dashboard in a real headless chromium, through the gateway."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import redis
from playwright.sync_api import Page, expect

from couponrush.client import AsyncClient, Client
from couponrush.store.keys import DLQ, event_keys
from tests.client.browser import browser, desktop, phone, shots
from tests.gateway.conftest import AppPool, Gateway, GatewayFactory, start_pool, stop_pool
from tests.helpers import create_event

__all__ = ["browser", "desktop", "phone", "shots"]
OPEN = {"client_rate_per_s": 1000, "client_burst": 1000}  # the page itself is not limited


@pytest.fixture(scope="module")
def pool(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppPool]:
    workers = start_pool(redis_url, tmp_path_factory.mktemp("pool"), 1, dashboard_interval_ms="250")
    yield workers
    stop_pool(workers)


@pytest.fixture
def gateway(pool: AppPool, start_gateway: GatewayFactory) -> Gateway:
    return start_gateway(pool, **OPEN)


def _claim(page: Page, user: str) -> None:
    """Type the user id and press Enter: the keyboard alone is enough."""
    field = page.get_by_label("Your user id")
    field.fill(user)
    field.press("Enter")


def _status(page: Page, state: str) -> None:
    expect(page.locator(f'#status[data-state="{state}"]')).to_be_visible()


def test_a_shopper_wins_and_a_retry_shows_the_same_code(
    phone: Page, gateway: Gateway, pool: AppPool, event_id: str, shots: Path
) -> None:
    create_event(pool, event_id, 2, name="Spring sale")
    phone.goto(f"{gateway.url}/e/{event_id}")
    expect(phone.locator("#remaining")).to_have_text("2 of 2")
    _claim(phone, "alice")
    _status(phone, "issued")
    code = phone.locator("#status .code").inner_text()
    with pool.sdk() as sdk:
        held = sdk.get_issuance(event_id, "alice")
    assert held is not None
    assert code == held.coupon_code
    expect(phone.locator("#remaining")).to_have_text("1 of 2")
    phone.screenshot(path=shots / "storefront-issued.png", full_page=True)
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    phone.reload()  # the user id is remembered on this device
    expect(phone.get_by_label("Your user id")).to_have_value("alice")
    phone.get_by_role("button", name="Get coupon").click()
    _status(phone, "already_issued")
    assert phone.locator("#status .code").inner_text() == code


def test_a_late_shopper_is_told_sold_out(
    phone: Page, gateway: Gateway, pool: AppPool, event_id: str, shots: Path
) -> None:
    create_event(pool, event_id, 1, name="Midnight drop")
    with pool.sdk() as sdk:
        assert sdk.issue(event_id, "early-bird").won
    phone.goto(f"{gateway.url}/e/{event_id}")
    _claim(phone, "carol")
    _status(phone, "sold_out")
    expect(phone.locator("#event-status")).to_have_text("Sold out")
    phone.screenshot(path=shots / "storefront-sold-out.png", full_page=True)


def test_not_open_counts_down_then_opens(
    phone: Page, gateway: Gateway, pool: AppPool, event_id: str, shots: Path
) -> None:
    create_event(
        pool, event_id, 5, name="Opening bell", starts_at=datetime.now(UTC) + timedelta(seconds=4)
    )
    phone.goto(f"{gateway.url}/e/{event_id}")
    countdown = phone.locator("#countdown")
    expect(countdown).to_have_text(re.compile(r"^Opens in 0:0[1-4]$"))
    _claim(phone, "dave")
    _status(phone, "not_open")
    phone.screenshot(path=shots / "storefront-countdown.png", full_page=True)
    expect(countdown).to_be_hidden(timeout=10_000)
    expect(phone.locator("#event-status")).to_have_text("Open")
    phone.get_by_role("button", name="Get coupon").click()
    _status(phone, "issued")


def test_a_tight_rate_limit_shows_retrying_then_a_final_answer(
    phone: Page, pool: AppPool, start_gateway: GatewayFactory, event_id: str, shots: Path
) -> None:
    create_event(pool, event_id, 5, name="Busy hour")
    tight = start_gateway(pool, client_rate_per_s=1, client_burst=8)
    phone.goto(f"{tight.url}/e/{event_id}")
    expect(phone.locator("#remaining")).to_have_text("5 of 5")
    with httpx.Client(base_url=tight.url) as other_tab:  # the same address empties the bucket
        drained = [other_tab.get(f"/v1/events/{event_id}").status_code for _ in range(12)]
    assert 429 in drained
    _claim(phone, "erin")
    busy = phone.locator('#status[data-state="busy"]')
    expect(busy).to_contain_text(re.compile(r"retrying in \d+ s"))
    phone.screenshot(path=shots / "storefront-busy.png", full_page=True)
    _status(phone, "issued")
    expect(phone.locator("#status")).to_contain_text("tries")


def test_the_dashboard_matches_redis_after_a_burst(
    gateway: Gateway, desktop: Page, pool: AppPool, redis_url: str, event_id: str, shots: Path
) -> None:
    create_event(pool, event_id, 60, name="Summer flash sale")
    desktop.goto(f"{gateway.url}/dashboard/{event_id}")
    desktop.get_by_label("Admin token").fill("wrong-" * 4)
    desktop.get_by_label("Admin token").press("Enter")
    expect(desktop.locator("#login-status")).to_have_text("That is not the admin token.")
    desktop.get_by_label("Admin token").fill(pool.admin_token)
    desktop.get_by_label("Admin token").press("Enter")
    expect(desktop.locator("#conn")).to_have_text("live")
    with ThreadPoolExecutor(1) as other_thread:  # Playwright's own loop runs in this one
        other_thread.submit(asyncio.run, _burst(gateway.url, event_id, 90)).result()
    truth = redis.Redis.from_url(redis_url, decode_responses=True)
    keys = event_keys(event_id)
    issued, stock = truth.hlen(keys.participants), int(truth.get(keys.stock) or 0)
    outbox, dlq = truth.xlen(keys.outbox), truth.xlen(DLQ)
    truth.close()
    assert (issued, stock) == (60, 0)
    expect(desktop.locator("#issued")).to_have_attribute("data-value", str(issued))
    expect(desktop.locator("#remaining")).to_have_attribute("data-value", str(stock))
    expect(desktop.locator("#backlog")).to_have_attribute("data-value", str(outbox))  # no consumer
    expect(desktop.locator("#dlq")).to_have_attribute("data-value", str(dlq))
    expect(desktop.locator("#event-status")).to_have_text("Sold out")
    expect(desktop.locator("#mix")).to_contain_text("sold_out")
    desktop.wait_for_timeout(1000)  # a few more frames for the chart
    desktop.screenshot(path=shots / "dashboard.png", full_page=True)
    desktop.set_viewport_size({"width": 390, "height": 844})
    desktop.screenshot(path=shots / "dashboard-phone.png", full_page=True)
    assert desktop.evaluate("document.documentElement.scrollWidth") <= 390
    desktop.get_by_role("button", name="Log out").click()  # closes the stream too
    expect(desktop.locator("#login-status")).to_have_text("Logged out.")
    expect(desktop.locator("#conn")).to_have_text("not connected")


async def _burst(url: str, event_id: str, users: int) -> None:
    async def one(user: str) -> None:
        async with AsyncClient(url) as client:
            await client.issue(event_id, user)

    await asyncio.gather(*(one(f"burst-{i:03d}") for i in range(users)))


def test_the_chooser_remembers_recent_sales(
    phone: Page, gateway: Gateway, pool: AppPool, event_id: str, shots: Path
) -> None:
    create_event(pool, event_id, 3)
    phone.goto(f"{gateway.url}/")
    field = phone.get_by_label("Event id")
    expect(field).to_be_focused()
    field.fill(event_id)
    field.press("Enter")
    expect(phone).to_have_url(f"{gateway.url}/e/{event_id}")
    phone.goto(f"{gateway.url}/")
    expect(phone.get_by_role("link", name=event_id)).to_be_visible()
    phone.screenshot(path=shots / "storefront-chooser.png", full_page=True)
    with Client(gateway.url) as sdk:
        assert sdk.get_event(event_id).remaining == 3
