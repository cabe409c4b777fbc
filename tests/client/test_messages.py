"""The SDK's errors and outcomes keep their result code and say it in English or Korean,
in the server's own words (one catalogue per language, shared with the API)."""

from __future__ import annotations

import re

import pytest

from couponrush.client import Client, Conflict, NotFound, messages
from couponrush.client.outcome import NETWORK_ERROR, IssueOutcome
from couponrush.web.i18n import catalogue
from couponrush.web.problems import STATUS
from tests.fixtures.app import AppServer
from tests.helpers import create_event

HANGUL = re.compile(r"[\uac00-\ud7a3]")


@pytest.mark.parametrize("result", [*sorted(STATUS), NETWORK_ERROR])
def test_every_result_code_has_words_in_both_languages(result: str) -> None:
    english, korean = messages.message(result, "en"), messages.message(result, "ko")
    assert english == catalogue("en").detail(result)
    assert korean == catalogue("ko").detail(result)
    assert HANGUL.search(korean)
    assert HANGUL.search(messages.title(result, "ko"))


def test_an_unknown_code_or_language() -> None:
    assert messages.message("brand_new", "ko", "the server's words") == "the server's words"
    assert messages.title("brand_new", "ko") == "brand_new"
    with pytest.raises(ValueError, match="one of en, ko"):
        messages.message("sold_out", "fr")


def test_an_outcome_says_itself_in_either_language() -> None:
    outcome = IssueOutcome("e1", "u1", "sold_out", 410, "r1", ())
    assert outcome.message("en") == "All coupons of this event have been issued."
    assert outcome.message("ko") == "이 이벤트의 쿠폰이 모두 발급되었습니다."


def test_an_error_keeps_its_code_and_renders_either_language(
    app_server: AppServer, event_id: str
) -> None:
    create_event(app_server, event_id, 1)
    korean = {"Accept-Language": "ko"}
    for headers in (None, korean):
        with Client(app_server.url, admin_token=app_server.admin_token, headers=headers) as sdk:
            with pytest.raises(Conflict) as conflict:
                sdk.create_event(event_id, 2)
            with pytest.raises(NotFound) as missing:
                sdk.get_event(f"{event_id}-missing")
        assert (conflict.value.result, missing.value.result) == ("exists", "not_found")
        assert conflict.value.message("ko") == catalogue("ko").detail("exists")
        assert conflict.value.message("en") == catalogue("en").detail("exists")
        assert missing.value.title("ko") == "찾을 수 없음"
        # The server's own detail follows the client's Accept-Language.
        assert bool(HANGUL.search(conflict.value.detail)) == (headers == korean)
