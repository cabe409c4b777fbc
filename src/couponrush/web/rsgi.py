"""RSGI entry point: ``granian --interface rsgi --factory couponrush.web.rsgi:app``.

granian's RSGI interface hands the handler its scope and a protocol object and takes the
answer in one call: no ASGI messages, dicts or per-request futures on the hot route. The
issue route is answered natively; every other request goes to the ASGI app (FastAPI, the
same app and OpenAPI document as ever) through a small bridge, and the ASGI lifespan runs
through granian's own lifespan driver when the worker starts and stops.
"""

from __future__ import annotations

import asyncio
import gc
import sys
from functools import partial
from typing import Any

import structlog
from granian.asgi import LifespanProtocol
from granian.rsgi import HTTPProtocol, ProtocolClosed, Scope  # type: ignore[attr-defined]

from couponrush.core.errors import BodyTooLarge
from couponrush.web.asgi import CouponrushApp, issue_target
from couponrush.web.asgi import app as asgi_app
from couponrush.web.issue import Head, IssueEndpoint
from couponrush.web.request_id import usable

log = structlog.get_logger(__name__)
_ASGI = {"version": "3.0", "spec_version": "2.3"}


class RsgiApp:
    def __init__(self, app: CouponrushApp) -> None:
        self.app = app
        self._issue: IssueEndpoint = app.issue
        self._lifespan = LifespanProtocol(app)  # type: ignore[no-untyped-call]

    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.run_until_complete(self._lifespan.startup())  # type: ignore[no-untyped-call]
        if self._lifespan.interrupt:
            log.error("lifespan_startup_failed", error=repr(self._lifespan.exc))
            sys.exit(1)
        # What start-up built lives as long as the worker: out of the collector's scans,
        # which would otherwise walk it on every full collection under load.
        gc.collect()
        gc.freeze()

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop) -> None:
        loop.run_until_complete(self._lifespan.shutdown())  # type: ignore[no-untyped-call]

    async def __rsgi__(self, scope: Scope, proto: HTTPProtocol) -> None:
        event_id = issue_target(scope.path)
        if event_id is not None:
            await self._answer_issue(scope, proto, event_id)
        else:
            await asgi_over_rsgi(self.app, scope, proto, self._lifespan.state)

    async def _answer_issue(self, scope: Scope, proto: HTTPProtocol, event_id: str) -> None:
        headers = scope.headers
        head: Head = (
            _last(headers, "content-type"),
            _first(headers, "content-length"),
            _request_id(headers),
            _last(headers, "authorization"),
            _last(headers, "accept-language"),
        )
        read = partial(_read_body, proto)
        try:
            reply, request_id = await self._issue.answer(scope.method, head, read, event_id)
        except ProtocolClosed:  # the client left before its body was in: nobody to answer
            return
        status, _, payload, found = reply
        proto.response_bytes(status, [*found, ("x-request-id", request_id)], payload)


def _first(headers: Any, name: str) -> bytes | None:
    value: str | None = headers.get(name)
    return None if value is None else value.encode()


def _last(headers: Any, name: str) -> bytes | None:
    """The last of a repeated header, as the ASGI route reads it."""
    values: list[str] = headers.get_all(name)
    return values[-1].encode() if values else None


def _request_id(headers: Any) -> bytes | None:
    """The last usable X-Request-ID, as the ASGI route reads it."""
    for value in reversed(headers.get_all("x-request-id")):
        raw: bytes = value.encode()
        if usable(raw):
            return raw
    return None


async def _read_body(proto: HTTPProtocol, limit: int, expected: int | None) -> bytes:
    """With a Content-Length (already checked against the limit) the body comes in one
    call; without one it is read chunk by chunk, up to the limit."""
    if expected is not None:
        return await proto()
    chunks, size = [], 0
    async for chunk in proto:
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _address(value: str) -> tuple[str, int] | None:
    host, _, port = value.rpartition(":")
    return (host.strip("[]"), int(port)) if host and port.isdigit() else None


async def asgi_over_rsgi(
    app: Any, scope: Scope, proto: HTTPProtocol, state: dict[str, Any]
) -> None:
    """One HTTP request of an RSGI server answered by an ASGI app. Header values are
    UTF-8 (granian passes no other), so they go back to the bytes that came."""
    asgi_scope = {
        "type": "http",
        "asgi": _ASGI,
        "http_version": scope.http_version,
        "method": scope.method,
        "scheme": scope.scheme,
        "path": scope.path,
        "root_path": "",
        "query_string": scope.query_string.encode("latin-1"),
        "headers": [(k.encode("latin-1"), v.encode()) for k, v in scope.headers.items()],
        "client": _address(scope.client),
        "server": _address(scope.server),
        "state": dict(state),
        "extensions": {},
    }
    exchange = _Exchange(proto)
    await app(asgi_scope, exchange.receive, exchange.send)
    exchange.finish()


class _Exchange:
    """The ASGI messages of one request, on an RSGI protocol: a whole body in one answer,
    a streamed one (more_body) through the protocol's stream."""

    def __init__(self, proto: HTTPProtocol) -> None:
        self._proto = proto
        self._chunks = aiter(proto)
        self._read_all = False
        self._status = 0
        self._headers: list[tuple[str, str]] = []
        self._stream: Any = None
        self._sent = False

    async def receive(self) -> dict[str, Any]:
        if not self._read_all:
            try:
                chunk = await anext(self._chunks)
            except StopAsyncIteration:
                self._read_all = True
                return {"type": "http.request", "body": b"", "more_body": False}
            except ProtocolClosed:  # the client left mid-body
                self._read_all = True
                return {"type": "http.disconnect"}
            return {"type": "http.request", "body": chunk, "more_body": True}
        await self._proto.client_disconnect()
        return {"type": "http.disconnect"}

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self._status = message["status"]
            self._headers = [
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", ())
            ]
            return
        if message["type"] != "http.response.body" or self._sent:
            return
        body, more = message.get("body", b""), message.get("more_body", False)
        if self._stream is None and not more:
            self._sent = True
            self._proto.response_bytes(self._status, self._headers, body)
            return
        if self._stream is None:
            self._stream = self._proto.response_stream(self._status, self._headers)
        if body:
            await self._stream.send_bytes(body)
        self._sent = not more

    def finish(self) -> None:
        """An app that started an answer but sent no body: answer it empty."""
        if self._status and not self._sent and self._stream is None:
            self._proto.response_empty(self._status, self._headers)


def app() -> RsgiApp:
    """Factory for granian: settings come from the environment (web/asgi.py)."""
    return RsgiApp(asgi_app())
