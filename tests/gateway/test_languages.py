"""What the gateway answers on its own is in the client's language by the app's rule: the
config's copies of the rule and of the texts are the app's, and every answer keeps its
status and result code in Korean."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from couponrush.web.i18n import KOREAN_FIRST, catalogue, leaves
from couponrush.web.problems import problem
from tests.web.test_i18n import RULE_CASES

from .conftest import AppPool, GatewayFactory, stop_pool
from .edge import EDGE, at_edge, issue, sold_out, start_edge_pool, wait_for_edge

NGINX = Path(__file__).parents[2] / "deploy" / "nginx"
TEMPLATE = (NGINX / "couponrush.conf.template").read_text()
LUA = NGINX / "lua" / "couponrush"
KO = {"Accept-Language": "ko-KR,ko;q=0.9,en-US;q=0.8"}
EN = {"Accept-Language": "en-US,en;q=0.9,ko;q=0.8"}
# The gateway's own answers: location -> (Korean body, English body).
LOCATION = re.compile(
    r"location = /_gw/(\d+) \{\s*if \(\$couponrush_ko\) \{\s*return \d+ '([^']*)';\s*\}"
    r"\s*return \d+ '([^']*)';"
)
# The config's placeholders as the catalogue names them.
PLACEHOLDERS = {"$couponrush_allow": "{allow}", "${MAX_BODY}": "{limit}"}


def test_the_config_and_the_lua_pick_by_the_apps_expression() -> None:
    rule = r'map \$http_accept_language \$couponrush_lang \{\s*"~\*(.*)" ko;'
    (mapped,) = re.findall(rule, TEMPLATE)
    (in_lua,) = re.findall(r"KOREAN_FIRST = \[\[(.*)\]\]", (LUA / "lang.lua").read_text())
    assert mapped == in_lua == KOREAN_FIRST


def _key_of(lang: str, text: str) -> str:
    """The catalogue key whose text this is (with the config's placeholders named)."""
    for name, value in PLACEHOLDERS.items():
        text = text.replace(name, value)
    keys = [k for k, v in leaves(catalogue(lang).doc) if v == text]
    assert keys, (lang, text)
    return keys[0]


def test_each_own_answer_says_the_catalogues_texts_with_the_same_code() -> None:
    found = LOCATION.findall(TEMPLATE)
    assert len(found) == 13  # every /_gw/ location but 503 (by maps, below)
    for status, ko_text, en_text in found:
        ko, en = json.loads(ko_text), json.loads(en_text)
        assert {k: v for k, v in ko.items() if k not in ("title", "detail")} == {
            k: v for k, v in en.items() if k not in ("title", "detail")
        }
        assert ko["status"] == int(status)
        assert _key_of("ko", ko["detail"]) == _key_of("en", en["detail"])
        title_key = _key_of("ko", ko["title"])
        assert title_key.endswith(".title")
        assert catalogue("en").text(title_key) == en["title"] or title_key.startswith("results")


def test_the_503_maps_and_the_lua_refusal_say_the_catalogues_texts() -> None:
    for lang in ("ko", "en"):
        for text in re.findall(rf'"{lang} \w+" "([^"]*)";', TEMPLATE):
            _key_of(lang, text)
    admit = (LUA / "admit.lua").read_text()
    for lang in ("en", "ko"):
        (parts,) = re.findall(rf"    {lang} = ((?:'[^']*'\s*(?:\.\.\s*)?)+),", admit)
        body = "".join(re.findall(r"'([^']*)'", parts))
        assert json.loads(body) == problem(503, "overloaded", None, lang)


def _pair(http: httpx.Client, method: str, path: str, **kwargs: Any) -> tuple[Any, Any]:
    """The same request in Korean and in English: both answers, checked alike."""
    ko, en = (http.request(method, path, headers=h, **kwargs) for h in (KO, EN))
    assert ko.status_code == en.status_code, (ko.text, en.text)
    assert (ko.headers["content-language"], en.headers["content-language"]) == ("ko", "en")
    assert ko.headers["vary"] == en.headers["vary"] == "Accept-Language"
    assert ko.headers["x-rejected-by"] == en.headers["x-rejected-by"] == "gateway"
    assert ko.json()["result"] == en.json()["result"]
    assert ko.json()["title"] == catalogue("ko").title(ko.json()["result"]) or ko.status_code == 411
    return ko.json(), en.json()


def test_the_gateways_own_answers_are_in_korean_with_the_same_codes(
    app_pool: AppPool, start_gateway: GatewayFactory, tmp_path: Path
) -> None:
    gw = start_gateway(app_pool, client_rate_per_s=1, client_burst=1)
    with httpx.Client(base_url=gw.url, timeout=5) as http:
        ko, _ = _pair(http, "TRACE", "/healthz")
        assert ko["detail"] == "GET, HEAD 메서드를 사용하세요."
        _pair(http, "POST", "/v1/events/x/issue", content=b"x" * 5000)
        _pair(http, "GET", "/internal/")
        for _ in range(3):
            http.get("/healthz")
        ko, en = _pair(http, "GET", "/healthz")
        assert (ko["result"], en["result"]) == ("rate_limited", "rate_limited")
    gone = AppPool([str(tmp_path / "gone.sock")], [], "unused", app_pool.redis_url, "unused")
    with httpx.Client(base_url=start_gateway(gone).url, timeout=10) as http:
        ko, _ = _pair(http, "GET", "/healthz")
        assert ko["detail"] == catalogue("ko").text("gateway.unavailable.detail")


def _refused(http: httpx.Client, headers: dict[str, str]) -> httpx.Response:
    """The first 503 of the Lua rate bound (answered by admit.lua, language by lang.lua)."""
    for _ in range(50):
        answer = http.get("/healthz", headers=headers)
        if answer.status_code == 503:
            return answer
    raise AssertionError("the rate bound of 1 request a second refused nothing")


def test_the_gateway_picks_as_the_app_does(
    app_pool: AppPool, start_gateway: GatewayFactory
) -> None:
    open_bucket = {"client_rate_per_s": 100_000, "client_burst": 100_000}
    gw = start_gateway(app_pool, worker_rate_per_s=1, **open_bucket)
    with httpx.Client(base_url=gw.url, timeout=5) as http:
        for header, lang in RULE_CASES:
            # Over the wire a value has no outer whitespace.
            sent = {} if header is None else {"Accept-Language": header.strip()}
            mapped = http.get("/internal/", headers=sent)  # the config's map
            assert mapped.status_code == 404
            picked = (
                mapped.headers["content-language"],
                _refused(http, sent).headers["content-language"],
            )
            assert picked == (lang, lang), header
            assert _refused(http, sent).headers["vary"] == "Accept-Language"


@pytest.fixture(scope="module")
def edge_pool(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppPool]:
    pool = start_edge_pool(redis_url, tmp_path_factory.mktemp("edge-ko"))
    yield pool
    stop_pool(pool)


def test_the_edge_answers_in_the_apps_words_in_each_language(
    edge_pool: AppPool, start_gateway: GatewayFactory, event_id: str
) -> None:
    gw = start_gateway(edge_pool, **EDGE)
    sold_out(edge_pool, gw, event_id, 1)
    wait_for_edge(gw, event_id)
    with edge_pool.direct() as direct:
        for headers in (KO, EN):
            at_gateway = issue(gw.url, event_id, "late", **headers)
            assert at_edge(at_gateway)
            url = f"/v1/events/{event_id}/issue"
            from_app = direct.post(url, json={"user_id": "late"}, headers=headers)
            assert at_gateway.content == from_app.content
            for name in ("content-language", "vary"):
                assert at_gateway.headers[name].lower() == from_app.headers[name].lower()
