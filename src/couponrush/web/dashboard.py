"""The live dashboard's login and its Server-Sent Events stream.

A browser's EventSource cannot send an Authorization header, so the admin token is
posted once to ``/dashboard/-/session`` (compared in constant time, never logged) and
exchanged for a short-lived signed session in a cookie: HttpOnly (scripts cannot read
it), SameSite=Strict (no other site can make the browser send it), Path=/dashboard,
Secure when the page came over HTTPS. The session is an expiry time signed with a key
derived from the admin token, so changing the token ends every session.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from typing import Annotated

import orjson
from fastapi import APIRouter, Cookie, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from couponrush.web.live import LiveHub, TooManyViewers, Viewer, sse
from couponrush.web.routes import JSONResponse, Svc, problem_response
from couponrush.web.schemas import EventId
from couponrush.web.wiring import Services

COOKIE = "couponrush_dashboard"
# Below the gateway's upstream read timeout (2 s by default).
HEARTBEAT_S = 1.0
router = APIRouter(include_in_schema=False)


class Login(BaseModel):
    token: str = Field(max_length=1024)


def _key(svc: Services) -> bytes:
    admin = svc.settings.admin_token.get_secret_value().encode()
    return hmac.new(admin, b"couponrush dashboard session v1", hashlib.sha256).digest()


def _signature(key: bytes, expires: int) -> str:
    mac = hmac.new(key, str(expires).encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def new_session(svc: Services, now: float) -> tuple[str, int]:
    expires = int(now) + svc.settings.dashboard_session_s
    return f"{expires}.{_signature(_key(svc), expires)}", expires


def session_expiry(svc: Services, value: str | None, now: float) -> int | None:
    """The session's expiry time when ``value`` is a valid, unexpired session."""
    expires, _, signature = (value or "").partition(".")
    if not expires.isdigit() or int(expires) <= now:
        return None
    expected = _signature(_key(svc), int(expires))
    return int(expires) if hmac.compare_digest(signature, expected) else None


def _unauthorized() -> Response:
    return problem_response(401, "unauthorized", "Log in with the admin token first.")


Session = Annotated[str | None, Cookie(alias=COOKIE)]


@router.post("/dashboard/-/session")
async def login(body: Login, request: Request, svc: Svc) -> Response:
    expected = svc.settings.admin_token.get_secret_value().encode()
    if not hmac.compare_digest(body.token.encode(), expected):
        return problem_response(401, "unauthorized", "That is not the admin token.")
    value, expires = new_session(svc, time.time())
    response = JSONResponse({"result": "ok", "expires_at": expires})
    response.set_cookie(
        COOKIE,
        value,
        max_age=svc.settings.dashboard_session_s,
        path="/dashboard",
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )
    return response


@router.get("/dashboard/-/session")
async def session(svc: Svc, cookie: Session = None) -> Response:
    expires = session_expiry(svc, cookie, time.time())
    if expires is None:
        return _unauthorized()
    return JSONResponse({"result": "ok", "expires_at": expires})


@router.delete("/dashboard/-/session")
async def logout() -> Response:
    response = Response(status_code=204)
    response.delete_cookie(COOKIE, path="/dashboard", httponly=True, samesite="strict")
    return response


@router.get("/dashboard/{event_id}/stream")
async def stream(event_id: EventId, request: Request, svc: Svc, cookie: Session = None) -> Response:
    expires = session_expiry(svc, cookie, time.time())
    if expires is None:
        return _unauthorized()
    hub: LiveHub = request.app.state.live
    try:
        viewer = hub.join(event_id)
    except TooManyViewers:
        retry = {"Retry-After": str(max(5, svc.settings.retry_after_s))}
        return problem_response(
            503, "overloaded", "Too many dashboard viewers on this worker.", headers=retry
        )
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(
        _events(hub, viewer, expires), media_type="text/event-stream", headers=headers
    )


async def _events(hub: LiveHub, viewer: Viewer, expires: int) -> AsyncIterator[bytes]:
    """Frames until the viewer leaves (the server cancels this) or its session ends."""
    try:
        yield b"retry: 3000\n\n"
        while time.time() < expires:
            try:
                frame = await asyncio.wait_for(viewer.frames.get(), HEARTBEAT_S)
            except TimeoutError:  # a comment line keeps proxies from closing a quiet stream
                yield b": keep-alive\n\n"
                continue
            yield sse(orjson.dumps(frame))
        yield sse(b"{}", "expired")
    finally:
        hub.leave(viewer)
