"""The web pages: the storefront at / (the open and upcoming sales) and /e/<event> (with a
shuffled opening's queue, and its check at /verify/<event>), the
live dashboard's shell at /dashboard/<event>, the operator page at /operator (the events
and one event's controls, through the API with the operator's token), and their static
files. Plain files of the package, no build step;
kept out of the OpenAPI document.

Every page is sent with a strict Content-Security-Policy: scripts and styles only from
this origin (no inline script or style), requests only to this origin, no framing.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from fastapi import APIRouter, FastAPI, Response
from fastapi.staticfiles import StaticFiles

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
}

router = APIRouter(include_in_schema=False)


@cache
def _page(name: str) -> bytes:
    return (STATIC / name).read_bytes()


def page(name: str) -> Response:
    return Response(_page(name), media_type="text/html; charset=utf-8", headers=PAGE_HEADERS)


@router.get("/")
async def storefront_home() -> Response:
    return page("storefront.html")


@router.get("/e/{event_id}")
async def storefront(event_id: str) -> Response:
    del event_id  # the page reads it from its address
    return page("storefront.html")


@router.get("/verify/{event_id}")
async def verify(event_id: str) -> Response:
    """A shuffled opening's order, recomputed in the browser (docs/fair-opening.md)."""
    del event_id
    return page("verify.html")


@router.get("/dashboard/{event_id}")
async def dashboard(event_id: str) -> Response:
    """The shell only: its numbers come from the stream, which needs a login."""
    del event_id
    return page("dashboard.html")


@router.get("/operator")
async def operator() -> Response:
    return page("operator.html")


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
