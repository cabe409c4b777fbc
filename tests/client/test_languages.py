"""The storefront in Korean and in English in a real headless chromium, through the
gateway: the language from Accept-Language, the switch remembered, times in the shopper's
zone (Asia/Seoul, named, for Korean) and a screenshot of each language."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from couponrush.web.i18n import catalogue
from tests.client.browser import PHONE, browser, shots
from tests.fixtures.postgres import PgServer
from tests.gateway.conftest import AppPool, Gateway, GatewayFactory, start_pool, stop_pool
from tests.helpers import create_event

__all__ = ["browser", "shots"]
OPEN = {"client_rate_per_s": 1000, "client_burst": 1000}
# The screenshots in the docs: refreshed by COUPONRUSH_DOCS_SCREENSHOTS=1 pytest <this file>.
DOCS = Path(__file__).parents[2] / "docs" / "img"
REFRESH_DOCS = "COUPONRUSH_DOCS_SCREENSHOTS"
# The words each language's page must show, from its catalogue (the test reads no copy).
WORDS = {lang: catalogue(lang).doc["storefront"] for lang in ("en", "ko")}
# The zone each language names next to a time: the shopper's own (New York here) in English.
NAME = {"en": "Spring sale", "ko": "봄맞이 쿠폰 이벤트"}
ZONE = {"en": re.compile(r"\b(EST|EDT|GMT-[45])\b"), "ko": re.compile("한국 표준시")}


@pytest.fixture(scope="module")
def pool(
    redis_url: str, pg: PgServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[AppPool]:
    workers = start_pool(redis_url, tmp_path_factory.mktemp("languages"), 1, database_url=pg.url)
    yield workers
    stop_pool(workers)


@pytest.fixture
def gateway(pool: AppPool, start_gateway: GatewayFactory) -> Gateway:
    return start_gateway(pool, **OPEN)


def _phone(browser: Browser, locale: str) -> Page:
    """A fresh phone whose browser asks for ``locale`` first, in New York's time zone."""
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=1, locale=locale, timezone_id="America/New_York"
    )
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


@pytest.mark.parametrize(("locale", "lang"), [("en-US", "en"), ("ko-KR", "ko")])
def test_the_storefront_speaks_the_shoppers_language(
    browser: Browser,
    gateway: Gateway,
    pool: AppPool,
    event_id: str,
    shots: Path,
    locale: str,
    lang: str,
) -> None:
    words = WORDS[lang]
    soon = datetime.now(UTC) + timedelta(hours=3)
    create_event(pool, f"{event_id}-soon", 5, name="Coming soon", starts_at=soon)
    sale = f"spring-sale-{event_id[-6:]}"  # short: it shows on the screenshot
    create_event(pool, sale, 1_500, name=NAME[lang])
    phone = _phone(browser, locale)
    try:
        phone.goto(f"{gateway.url}/")
        expect(phone.locator("html")).to_have_attribute("lang", lang)
        expect(phone.locator("#chooser-title")).to_have_text(words["chooser_title"])
        upcoming = phone.locator(f'li[data-event="{event_id}-soon"] .when')
        expect(upcoming).to_contain_text(ZONE[lang])
        phone.screenshot(path=shots / f"chooser-{lang}.png")
        phone.goto(f"{gateway.url}/e/{sale}")
        remaining = "1,500 of 1,500" if lang == "en" else "1,500장 중 1,500장"
        expect(phone.locator("#remaining")).to_have_text(remaining)
        phone.get_by_label(words["user_id"]).fill(f"shopper-{lang}")
        phone.get_by_role("button", name=words["claim"]).click()
        expect(phone.locator('#status[data-state="issued"] .title')).to_have_text(
            words["issued_title"]
        )
        after = "1,499 of 1,500" if lang == "en" else "1,500장 중 1,499장"
        expect(phone.locator("#remaining")).to_have_text(after)
        phone.screenshot(path=shots / f"storefront-{lang}.png")
        if os.environ.get(REFRESH_DOCS) == "1":  # not on every run: the tree stays as is
            shutil.copyfile(shots / f"storefront-{lang}.png", DOCS / f"storefront-{lang}.png")
    finally:
        phone.context.close()


def test_the_switch_on_the_page_is_remembered(
    browser: Browser, gateway: Gateway, pool: AppPool, event_id: str
) -> None:
    create_event(pool, event_id, 1, name="Switch")
    phone = _phone(browser, "en-US")
    try:
        phone.goto(f"{gateway.url}/e/{event_id}")
        expect(phone.get_by_role("button", name=WORDS["en"]["claim"])).to_be_visible()
        phone.get_by_role("link", name="한국어").click()
        expect(phone.get_by_role("button", name=WORDS["ko"]["claim"])).to_be_visible()
        expect(phone.get_by_role("link", name="한국어")).to_have_attribute("aria-current", "true")
        phone.goto(f"{gateway.url}/e/{event_id}")  # the browser still asks for English
        expect(phone.locator("html")).to_have_attribute("lang", "ko")
        phone.get_by_label(WORDS["ko"]["user_id"]).fill("switcher")
        phone.get_by_role("button", name=WORDS["ko"]["claim"]).click()
        phone.get_by_role("button", name=WORDS["ko"]["claim"]).click()
        expect(phone.locator('#status[data-state="already_issued"] .title')).to_have_text(
            WORDS["ko"]["already_title"]
        )
        phone.get_by_role("link", name="English").click()
        expect(phone.locator("html")).to_have_attribute("lang", "en")
    finally:
        phone.context.close()


def test_the_operator_pages_speak_korean_and_fit_a_phone(
    browser: Browser, gateway: Gateway, pool: AppPool, event_id: str
) -> None:
    ko = catalogue("ko").doc
    # The widest row the list may have to show: the longest id, big numbers and an end.
    longest = f"{event_id}-{'w' * 64}"[:64]
    create_event(pool, longest, 9_999_999, ends_at=datetime.now(UTC) + timedelta(days=1))
    phone = _phone(browser, "ko-KR")
    try:
        phone.goto(f"{gateway.url}/dashboard/{event_id}")
        expect(phone.locator("#conn")).to_have_text(ko["dashboard"]["not_connected"])
        phone.get_by_label(ko["dashboard"]["admin_token"]).fill("wrong-" * 4)
        phone.get_by_label(ko["dashboard"]["admin_token"]).press("Enter")
        expect(phone.locator("#login-status")).to_have_text(ko["dashboard"]["not_the_token"])
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        phone.goto(f"{gateway.url}/operator")
        phone.get_by_label(ko["operator"]["api_token"]).fill(pool.admin_token)
        phone.get_by_label(ko["operator"]["api_token"]).press("Enter")
        expect(phone.locator("#events-title")).to_have_text(ko["operator"]["events"])
        expect(phone.get_by_text(longest, exact=True)).to_be_visible()
        assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        phone.context.close()
