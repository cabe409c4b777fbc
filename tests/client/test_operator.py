"""The storefront's list of sales and the operator page in a real headless chromium,
through the gateway, with a database behind the workers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from couponrush.client import Client
from tests.client.browser import browser, desktop, phone, shots
from tests.fixtures.postgres import PgServer
from tests.gateway.conftest import AppPool, Gateway, GatewayFactory, start_pool, stop_pool
from tests.helpers import create_event

__all__ = ["browser", "desktop", "phone", "shots"]
OPEN = {"client_rate_per_s": 1000, "client_burst": 1000}


@pytest.fixture(scope="module")
def pool(
    redis_url: str, pg: PgServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppPool]:
    workers = start_pool(redis_url, tmp_path_factory.mktemp("operator"), 1, database_url=pg.url)
    yield workers
    stop_pool(workers)


@pytest.fixture
def gateway(pool: AppPool, start_gateway: GatewayFactory) -> Gateway:
    return start_gateway(pool, **OPEN)


def test_the_front_page_lists_the_open_and_upcoming_sales(
    phone: Page, gateway: Gateway, pool: AppPool, event_id: str, shots: Path
) -> None:
    soon = datetime.now(UTC) + timedelta(hours=2)
    create_event(pool, f"{event_id}-open", 4, name="Open now")
    create_event(pool, f"{event_id}-soon", 4, name="Coming soon", starts_at=soon)
    create_event(pool, f"{event_id}-over", 4, name="Over")
    with pool.sdk() as sdk:
        sdk.close_event(f"{event_id}-over")
    phone.goto(f"{gateway.url}/")
    sales = phone.locator("#sales")
    expect(sales.locator(f'li[data-event="{event_id}-open"]')).to_contain_text("4 of 4")
    expect(sales.locator(f'li[data-event="{event_id}-soon"]')).to_contain_text("Opens")
    expect(sales.locator(f'li[data-event="{event_id}-over"]')).to_have_count(0)
    phone.screenshot(path=shots / "storefront-sales.png", full_page=True)
    phone.get_by_role("link", name="Open now").click()
    expect(phone).to_have_url(f"{gateway.url}/e/{event_id}-open")
    expect(phone.locator("#remaining")).to_have_text("4 of 4")


def test_an_operator_tops_up_closes_exports_and_archives(
    desktop: Page, gateway: Gateway, pool: AppPool, event_id: str, shots: Path
) -> None:
    create_event(pool, event_id, 2, name="Winter drop")
    with Client(gateway.url) as shop:
        assert shop.issue(event_id, "alice").won
    desktop.goto(f"{gateway.url}/operator")
    desktop.get_by_label("API token").fill("crt_not-a-token")
    desktop.get_by_label("API token").press("Enter")
    expect(desktop.locator("#login-status")).to_contain_text("refused")
    desktop.get_by_label("API token").fill(pool.admin_token)
    desktop.get_by_label("API token").press("Enter")
    expect(desktop.locator("#who")).to_have_text("bootstrap (admin)")
    desktop.get_by_role("button", name=event_id, exact=True).click()
    expect(desktop.locator("#event-name")).to_have_text("Winter drop")
    desktop.get_by_label("Add coupons").fill("3")
    desktop.get_by_role("button", name="Top up").click()
    expect(desktop.locator("#action-status")).to_have_text(
        "Topped up to 5 coupons.", timeout=20_000
    )
    expect(desktop.locator("#event-left")).to_have_text("4 of 5")
    desktop.get_by_role("button", name="Close now").click()
    expect(desktop.locator("#event-status")).to_have_text("closed")
    with desktop.expect_download() as downloading:
        desktop.get_by_role("button", name="Export CSV").click()
    exported = Path(downloading.value.path()).read_text()
    assert exported.splitlines()[0].startswith("user_id,slot,coupon_code,issued_at,state")
    desktop.screenshot(path=shots / "operator.png", full_page=True)
    desktop.get_by_role("button", name="Archive").click()
    expect(desktop.locator("#event-status")).to_have_text("archived")
    row = desktop.locator(f'tr[data-event="{event_id}"]')
    expect(row).to_contain_text("archived")
