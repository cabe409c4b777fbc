"""The ASGI app: the hot issue route straight to its lean handler, everything else to
FastAPI, after the body checks every route shares.

granian runs it under RSGI (web/rsgi.py: the issue route natively, the rest through a small
bridge); ``granian --interface asgi --factory couponrush.web.asgi:app`` serves it as well.
"""

from __future__ import annotations

import structlog
from fastapi import FastAPI
from starlette.routing import Match

from couponrush import logs
from couponrush.core.errors import BodyTooLarge
from couponrush.settings import Settings
from couponrush.web.api import create_api
from couponrush.web.i18n import LANGUAGE, language, say
from couponrush.web.issue import IssueEndpoint
from couponrush.web.metrics import Metrics
from couponrush.web.problems import (
    Receive,
    Scope,
    Send,
    is_json_content_type,
    read_body,
    send_problem,
)
from couponrush.web.request_id import HEADER as REQUEST_ID_HEADER
from couponrush.web.request_id import RequestIds, usable
from couponrush.web.wiring import build

_PREFIX = "/v1/events/"
_SUFFIX = "/issue"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def issue_target(path: str) -> str | None:
    """The event id of an issue route's (decoded) path, else None."""
    if path.endswith(_SUFFIX) and path.startswith(_PREFIX):
        event_id = path[len(_PREFIX) : -len(_SUFFIX)]
        if event_id and "/" not in event_id:
            return event_id
    return None


class CouponrushApp:
    def __init__(self, api: FastAPI, issue: IssueEndpoint, ids: RequestIds, max_body: int) -> None:
        self.api = api
        self.issue = issue
        self._ids = ids
        self._max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            event_id = issue_target(scope["path"])
            if event_id is not None:
                await self._issue_route(scope, receive, send, event_id)
                return
            send = self._ids.tagged(scope, send)
            LANGUAGE.set(language(_header(scope, b"accept-language")))
            if scope["method"] in _BODY_METHODS and self._takes_it(scope):
                await self._guarded(scope, receive, send)
                return
        await self.api(scope, receive, send)

    async def _issue_route(self, scope: Scope, receive: Receive, send: Send, event_id: str) -> None:
        """The issue route under ASGI (granian runs it under RSGI: web/rsgi.py)."""
        content_type = length = raw_id = authorization = accept = None
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"content-length":
                length = value
            elif name == REQUEST_ID_HEADER and usable(value):
                raw_id = value
            elif name == b"authorization":
                authorization = value
            elif name == b"accept-language":
                accept = value

        async def read(limit: int, expected: int | None) -> bytes:
            return await read_body(receive, limit, expected)

        head = (content_type, length, raw_id, authorization, accept)
        reply, request_id = await self.issue.answer(scope["method"], head, read, event_id)
        status, _, payload, headers = reply
        raw = [(k.encode(), v.encode()) for k, v in headers]
        raw.append((REQUEST_ID_HEADER, request_id.encode()))
        await send({"type": "http.response.start", "status": status, "headers": raw})
        await send({"type": "http.response.body", "body": payload})

    def _takes_it(self, scope: Scope) -> bool:
        """Whether a route takes this method on this path; if none does, the framework
        answers 404 or 405 (with Allow) without reading the body."""
        return any(route.matches(scope)[0] is Match.FULL for route in self.api.router.routes)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse non-JSON and oversized bodies before the framework reads them. A request
        without a body (close, archive) needs no media type."""
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type")
        length = headers.get(b"content-length", b"")
        if length in (b"", b"0") and b"transfer-encoding" not in headers:
            await self.api(scope, receive, send)
            return
        if not is_json_content_type(content_type):
            await send_problem(send, 415, "unsupported_media_type")
            return
        try:
            if length and (not length.isdigit() or int(length) > self._max_body):
                raise BodyTooLarge
            body = await read_body(receive, self._max_body, int(length) if length else None)
        except BodyTooLarge:
            await send_problem(
                send, 413, "payload_too_large", say("body_over", limit=self._max_body)
            )
            return
        replayed = False

        async def replay() -> dict[str, object]:
            nonlocal replayed
            if replayed:
                return dict(await receive())
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.api(scope, replay, send)


def _header(scope: Scope, name: bytes) -> bytes | None:
    """The last value of a request header (None when absent)."""
    found = None
    for key, value in scope["headers"]:
        if key == name:
            found = value
    return found


def build_app(settings: Settings) -> CouponrushApp:
    settings.check_secrets()
    settings.check_identity()
    if settings.auth == "none":
        structlog.get_logger(__name__).warning(
            "unsigned user ids: any client may claim a coupon under any user id",
            auth="none",
            allow_unsigned_users=True,
        )
    services = build(settings, Metrics())
    return CouponrushApp(
        create_api(services), services.issue, services.request_ids, settings.max_body_bytes
    )


def app() -> CouponrushApp:
    """Factory for the ASGI server: settings come from the environment here."""
    settings = Settings()
    logs.configure(settings.log_level)
    return build_app(settings)
