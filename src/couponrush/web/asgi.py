"""ASGI entry point: ``granian --interface asgi --factory couponrush.web.asgi:app``.

The outer app sends the hot issue route straight to its lean handler and everything
else to FastAPI, after the body checks every route shares.
"""

from __future__ import annotations

import structlog
from fastapi import FastAPI
from starlette.routing import Match

from couponrush import logs
from couponrush.core.errors import BodyTooLarge
from couponrush.settings import Settings
from couponrush.web.api import create_api
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
from couponrush.web.request_id import RequestIds
from couponrush.web.wiring import build

_PREFIX = "/v1/events/"
_SUFFIX = "/issue"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class CouponrushApp:
    def __init__(self, api: FastAPI, issue: IssueEndpoint, ids: RequestIds, max_body: int) -> None:
        self.api = api
        self._issue = issue
        self._ids = ids
        self._max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if path.endswith(_SUFFIX) and path.startswith(_PREFIX):
                event_id = path[len(_PREFIX) : -len(_SUFFIX)]
                if event_id and "/" not in event_id:
                    await self._issue(scope, receive, send, event_id)
                    return
            send = self._ids.tagged(scope, send)
            if scope["method"] in _BODY_METHODS and self._takes_it(scope):
                await self._guarded(scope, receive, send)
                return
        await self.api(scope, receive, send)

    def _takes_it(self, scope: Scope) -> bool:
        """Whether a route takes this method on this path; if none does, the framework
        answers 404 or 405 (with Allow) without reading the body."""
        return any(route.matches(scope)[0] is Match.FULL for route in self.api.router.routes)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse non-JSON and oversized bodies before the framework reads them."""
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type")
        length = headers.get(b"content-length", b"")
        if not is_json_content_type(content_type):
            await send_problem(
                send, 415, "unsupported_media_type", "Send Content-Type: application/json."
            )
            return
        try:
            if length and (not length.isdigit() or int(length) > self._max_body):
                raise BodyTooLarge
            body = await read_body(receive, self._max_body, int(length) if length else None)
        except BodyTooLarge:
            await send_problem(
                send, 413, "payload_too_large", f"The body is over {self._max_body} bytes."
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
    return CouponrushApp(create_api(services), services.issue, services.request_ids,
                         settings.max_body_bytes)  # fmt: skip


def app() -> CouponrushApp:
    """Factory for the ASGI server: settings come from the environment here."""
    settings = Settings()
    logs.configure(settings.log_level)
    return build_app(settings)
