"""The pages in Korean and English: the language picked by ?lang=, then the cookie it
leaves, then Accept-Language; every string of the HTML and the scripts is in the
catalogues, none is written in the files themselves."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import httpx
import pytest

from couponrush.web.i18n import LANGUAGES, catalogue, leaves
from couponrush.web.pages import LANG_COOKIE, SECTIONS, STATIC
from tests.fixtures.app import AppServer

PAGES = {"/e/spring": "storefront", "/dashboard/spring": "dashboard", "/operator": "operator"}
KO = {"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.8"}
# The string literals of a script, left to right; one a person would read has a
# capitalised word and another, or a capitalised word that ends a sentence.
LITERAL = re.compile(r""""(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`""")
PROSE = re.compile(r"\b[A-Z][a-z]+(?: [a-z]+|[.!?…])")
KEY_USE = re.compile(r"""\b(?:t|plural)\(\s*[`"]([a-z_.${}]+)[`"]""")


class _Texts(HTMLParser):
    """The text and the readable attributes of an HTML file, placeholders removed."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [v or "" for k, v in attrs if k in ("aria-label", "title", "placeholder")]

    def handle_data(self, data: str) -> None:
        self.found.append(data)


def _head(html: str) -> str:
    return html.split("<title>")[1].split("</title>")[0]


@pytest.mark.parametrize("path", list(PAGES))
def test_each_page_follows_accept_language(http: httpx.Client, path: str) -> None:
    section = PAGES[path]
    english, korean = http.get(path), http.get(path, headers=KO)
    assert '<html lang="en">' in english.text
    assert '<html lang="ko">' in korean.text
    assert (english.headers["content-language"], korean.headers["content-language"]) == (
        "en",
        "ko",
    )
    assert "Accept-Language" in korean.headers["vary"]
    assert _head(korean.text) == catalogue("ko").text(f"{section}.title")
    block = korean.text.split('id="i18n">')[1].split("</script>")[0]
    assert json.loads(block)["format"]["time_zone"] == "Asia/Seoul"


def test_the_switch_is_remembered_in_a_cookie_over_the_header(app_server: AppServer) -> None:
    def lang_of(path: str, cookie: str | None = None, **headers: str) -> str:
        sent = {**headers, **({"Cookie": f"{LANG_COOKIE}={cookie}"} if cookie else {})}
        with httpx.Client(base_url=app_server.url) as fresh:  # keeps no cookie of ours
            found = re.search(r'<html lang="(\w+)">', fresh.get(path, headers=sent).text)
        assert found
        return found[1]

    with httpx.Client(base_url=app_server.url) as fresh:
        cookie = fresh.get("/operator?lang=ko").headers["set-cookie"]
        assert cookie.startswith(f"{LANG_COOKIE}=ko;")
        assert "samesite=lax" in cookie.lower()
        assert "set-cookie" not in fresh.get("/operator?lang=fr").headers
    assert lang_of("/operator", "ko") == "ko"
    assert lang_of("/operator", "en", **KO) == "en"
    assert lang_of("/operator?lang=fr", **KO) == "ko"
    assert lang_of("/operator?lang=en", "ko", **KO) == "en"


@pytest.mark.parametrize("name", sorted(SECTIONS))
def test_no_string_is_written_in_the_html(name: str) -> None:
    source = (STATIC / name).read_text()
    keys = dict(leaves(catalogue("en").doc))
    for key in re.findall(r"\{\{([a-z0-9_.]+)\}\}", source):
        assert key == "lang" or key in keys, key
    parser = _Texts()
    parser.feed(re.sub(r"\{\{[a-z0-9_.]+\}\}", "", source))
    assert [t.strip() for t in parser.found if re.search(r"[A-Za-z]{2}", t)] == []


@pytest.mark.parametrize(
    "script", ["storefront.js", "dashboard.js", "operator.js", "queue.js", "verify.js"]
)
def test_no_string_is_written_in_the_scripts(script: str) -> None:
    source = (STATIC / script).read_text()
    code = re.sub(r"(^|\s)//.*$", "", source, flags=re.MULTILINE)  # comments
    assert [m[0] for m in LITERAL.finditer(code) if PROSE.search(m[0])] == []
    texts = [dict(leaves(catalogue(lang).doc)) for lang in LANGUAGES]
    for key in KEY_USE.findall(code):
        pattern = re.compile("^" + re.sub(r"\\\$\\\{[^}]*\\\}", "[a-z_]+", re.escape(key)) + "$")
        for found in texts:
            assert [k for k in found if pattern.match(k)], (script, key)
