"""Korean and English: the one rule that picks a language, catalogues that say the same
things, and problem bodies that keep every member but ``title`` and ``detail``."""

from __future__ import annotations

import re
import string
from typing import Any

import orjson
import pytest

from couponrush.core.errors import Overloaded, StoreUnavailable
from couponrush.web.i18n import LANGUAGES, PLURAL_FORMS, catalogue, language, leaves
from couponrush.web.problems import STATUS, problem
from couponrush.web.replies import sold_out_body
from tests.fakes import FakeBatcher
from tests.web.test_issuer import _post, endpoint_of

HANGUL = re.compile(r"[\uac00-\ud7a3]")


# Headers and the language the one rule picks for them (the gateway's copies are held
# to the same cases: tests/gateway/test_languages.py).
RULE_CASES: list[tuple[str | None, str]] = [
    (None, "en"),
    ("", "en"),
    ("ko", "ko"),
    ("ko-KR", "ko"),
    ("KO-kr,ko;q=0.9,en-US;q=0.8,en;q=0.7", "ko"),
    ("en-US,en;q=0.9,ko;q=0.8", "en"),
    ("fr-FR,fr;q=0.9,ko;q=0.8,en;q=0.5", "ko"),
    ("fr-FR,de;q=0.9", "en"),
    ("ko;q=0,en", "en"),
    ("ko;q=0.000, ko-KR;q=0.4", "ko"),
    ("en;q=0, ko;q=0.1", "ko"),
    (" ko-KR ;q=1", "ko"),
    ("kok,ko", "ko"),
    ("kok", "en"),
    ("*", "en"),
    ("x" * 300 + ",ko", "en"),
]


@pytest.mark.parametrize(("header", "lang"), RULE_CASES)
def test_the_language_rule(header: str | None, lang: str) -> None:
    assert language(header) == lang
    assert language(header.encode() if header is not None else None) == lang


def test_a_long_hostile_header_is_decided_at_once() -> None:
    # Each range matches one way only: no backtracking blow-up on a header of many ranges.
    assert language(",".join(["en;q=0"] * 40)[:256]) == "en"
    assert language(";" * 256) == "en"


def _fields(text: Any) -> set[str]:
    texts = text.values() if isinstance(text, dict) else [text]
    return {f for t in texts for _, f, _, _ in string.Formatter().parse(t) if f}


def test_the_catalogues_hold_the_same_keys_and_placeholders() -> None:
    en, ko = (dict(leaves(catalogue(lang).doc)) for lang in LANGUAGES)
    assert en.keys() == ko.keys()
    for key, text in en.items():
        assert _fields(text) == _fields(ko[key]), key
        if isinstance(text, dict):
            for forms in (text, ko[key]):
                assert "other" in forms, key
                assert forms.keys() <= PLURAL_FORMS, key


@pytest.mark.parametrize("result", sorted(STATUS))
def test_every_result_code_reads_in_both_languages_with_the_same_members(result: str) -> None:
    status = STATUS[result]
    en, ko = (problem(status, result, None, lang, event_id="e1") for lang in LANGUAGES)
    assert {k: v for k, v in en.items() if k not in ("title", "detail")} == {
        k: v for k, v in ko.items() if k not in ("title", "detail")
    }
    assert en["result"] == ko["result"] == result
    assert HANGUL.search(ko["title"])
    assert HANGUL.search(ko["detail"])
    assert not HANGUL.search(en["title"] + en["detail"])


ISSUE_REPLIES: list[tuple[str, list[Any] | Exception]] = [
    ("issued", ["ISSUED", 1, 1_700_000_000_000]),
    ("already_issued", ["DUPLICATE", 1, 1_700_000_000_000]),
    ("sold_out", ["SOLD_OUT"]),
    ("not_open", ["NOT_OPEN", 1_900_000_000_000]),
    ("closed", ["CLOSED", 1_700_000_000_000]),
    ("rate_limited", ["RATE_LIMITED", 1500]),
    ("not_found", ["NOT_FOUND"]),
    ("unavailable", StoreUnavailable("Redis did not answer")),
    ("overloaded", Overloaded("too many in flight")),
]


async def _answer_in(lang: str, reply: list[Any] | Exception, body: bytes) -> Any:
    endpoint = endpoint_of(FakeBatcher([reply]))
    return await _post(endpoint, body, (b"accept-language", lang.encode()))


@pytest.mark.parametrize(("result", "reply"), ISSUE_REPLIES, ids=[r for r, _ in ISSUE_REPLIES])
async def test_the_issue_route_answers_each_code_alike_in_both_languages(
    result: str, reply: list[Any] | Exception
) -> None:
    answers = [await _answer_in(h, reply, b'{"user_id": "u1"}') for h in ("en-US", "ko-KR")]
    (en_status, en_headers, en), (ko_status, ko_headers, ko) = answers
    assert en_status == ko_status == STATUS[result]
    assert en["result"] == ko["result"] == result
    if "title" not in en:  # a win: no text to translate, the same coupon
        assert en.keys() == ko.keys()
        return
    assert (en_headers[b"content-language"], ko_headers[b"content-language"]) == (b"en", b"ko")
    assert en_headers[b"vary"] == ko_headers[b"vary"] == b"accept-language"
    assert ko["title"] == catalogue("ko").title(result)
    assert ko["detail"] == catalogue("ko").detail(result)
    assert en.keys() == ko.keys()
    assert en_headers.get(b"retry-after") == ko_headers.get(b"retry-after")


@pytest.mark.parametrize(
    ("body", "status", "result"),
    [(b'{"user_id": ', 400, "malformed_json"), (b'{"user_id": 4}', 422, "invalid")],
)
async def test_bad_bodies_are_refused_alike_in_both_languages(
    body: bytes, status: int, result: str
) -> None:
    en, ko = [(await _answer_in(h, ["ISSUED", 1, 1], body))[2] for h in ("en", "ko")]
    assert (en["status"], en["result"]) == (ko["status"], ko["result"]) == (status, result)
    assert en.get("errors") == ko.get("errors")
    assert HANGUL.search(ko["detail"])


def test_the_sold_out_body_is_the_feeds_in_each_language() -> None:
    for lang in LANGUAGES:
        doc = orjson.loads(sold_out_body("spring", lang))
        assert doc == problem(410, "sold_out", None, lang, event_id="spring")
