"""The web pages: the storefront at / (the open and upcoming sales) and /e/<event> (with a
shuffled opening's queue, and its check at /verify/<event>), the
live dashboard's shell at /dashboard/<event>, the operator page at /operator (the events
and one event's controls, through the API with the operator's token), and their static
files. Plain files of the package, no build step;
kept out of the OpenAPI document.

Every page is sent with a strict Content-Security-Policy: scripts and styles only from
this origin (no inline script or style), requests only to this origin, no framing.

Every page is in Korean or English (web/i18n.py): ``?lang=`` (the switch on the page,
then remembered in a cookie), else that cookie, else ``Accept-Language``. The HTML files
name their strings as ``{{section.key}}``, filled from the language's catalogue once per
page and language; the scripts get the catalogue's sections as a JSON data block (not a
script: the CSP holds) and format numbers and times with the browser's Intl.
"""

from __future__ import annotations

import html
import re
from functools import cache
from pathlib import Path

import orjson
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from couponrush.web.i18n import catalogue, chosen, language

STATIC = Path(__file__).parent / "static"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
    "Vary": "Accept-Language, Cookie",
}
# The cookie that remembers the switch on the pages (a year; not for scripts' eyes).
LANG_COOKIE = "couponrush_lang"
_YEAR_S = 365 * 24 * 3600
_PLACEHOLDER = re.compile(r"\{\{([a-z0-9_.]+)\}\}")
# The catalogue's sections each page's script reads (the HTML's strings are filled in).
SECTIONS = {
    "storefront.html": ("meta", "format", "common", "event_status", "storefront", "results"),
    "dashboard.html": ("meta", "format", "common", "event_status", "dashboard"),
    "operator.html": ("meta", "format", "common", "operator", "results"),
    "verify.html": ("meta", "format", "common", "verify"),
}

router = APIRouter(include_in_schema=False)


@cache
def _page(name: str, lang: str) -> bytes:
    """The page in ``lang``: its strings filled in, its script's sections as JSON."""
    texts = catalogue(lang)
    data = orjson.dumps(texts.sections(SECTIONS[name])).decode().replace("</", "<\\/")
    fmt = texts.doc["format"]  # a label may name the zone its input is read in
    source = (STATIC / name).read_text().replace("{{lang}}", lang)
    filled = _PLACEHOLDER.sub(lambda m: html.escape(texts.text(m[1], **fmt)), source)
    block = f'<script type="application/json" id="i18n">{data}</script>\n</head>'
    return filled.replace("</head>", block, 1).encode()


def page(name: str, request: Request) -> Response:
    asked = chosen(request.query_params.get("lang"))
    lang = asked or chosen(request.cookies.get(LANG_COOKIE))
    lang = lang or language(request.headers.get("accept-language"))
    headers = {**PAGE_HEADERS, "Content-Language": lang}
    answer = Response(_page(name, lang), media_type="text/html; charset=utf-8", headers=headers)
    if asked:
        answer.set_cookie(LANG_COOKIE, asked, max_age=_YEAR_S, httponly=True, samesite="lax")
    return answer


@router.get("/")
async def storefront_home(request: Request) -> Response:
    return page("storefront.html", request)


@router.get("/e/{event_id}")
async def storefront(event_id: str, request: Request) -> Response:
    del event_id  # the page reads it from its address
    return page("storefront.html", request)


@router.get("/verify/{event_id}")
async def verify(event_id: str, request: Request) -> Response:
    """A shuffled opening's order, recomputed in the browser (docs/fair-opening.md)."""
    del event_id
    return page("verify.html", request)


@router.get("/dashboard/{event_id}")
async def dashboard(event_id: str, request: Request) -> Response:
    """The shell only: its numbers come from the stream, which needs a login."""
    del event_id
    return page("dashboard.html", request)


@router.get("/operator")
async def operator(request: Request) -> Response:
    return page("operator.html", request)


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
