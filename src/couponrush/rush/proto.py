"""A lean HTTP/1.1 keep-alive connection for the load generator.

httptools (the llhttp parser) reads the responses; the requests are small and fixed in
shape. This costs a fraction of a general-purpose client per request, which matters
when the generator shares two cores with the system under test.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

import httptools
import orjson

from couponrush.core.retry import retry_after_s

Response = tuple[int, float, bytes]  # status, Retry-After seconds (0 = none), body


class Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[Response] | None = None
        self._chunks: list[bytes] = []
        self._retry_after = 0.0
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ConnectionError(f"unparseable response: {exc}"))

    def on_header(self, name: bytes, value: bytes) -> None:
        if name.lower() == b"retry-after":
            self._retry_after = retry_after_s(value, time.time())

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)

    def on_message_complete(self) -> None:
        reply = (self._parser.get_status_code(), self._retry_after, b"".join(self._chunks))
        self._chunks, self._retry_after = [], 0.0
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(reply)
        if not self._parser.should_keep_alive():
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(ConnectionError("connection closed"))

    def _fail(self, exc: Exception) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.close()

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()

    def send(self, raw: bytes) -> asyncio.Future[Response]:
        if self._transport is None or self._waiter is not None:
            raise ConnectionError("connection not ready for a request")
        self._waiter = asyncio.get_running_loop().create_future()
        self._transport.write(raw)
        return self._waiter


async def connect(host: str, port: int) -> Connection:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(Connection, host, port)
    return protocol


def post_request(host: bytes, path: bytes, user: str, forwarded_for: str) -> bytes:
    """A POST of ``{"user_id": user}`` from the client at ``forwarded_for``."""
    body = b'{"user_id":"%s"}' % user.encode()
    return (
        b"POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\n"
        b"X-Forwarded-For: %s\r\nContent-Length: %d\r\n\r\n%s"
        % (path, host, forwarded_for.encode(), len(body), body)
    )


def issue_request(host: bytes, event_id: bytes, user: str, forwarded_for: str) -> bytes:
    return post_request(host, b"/v1/events/%s/issue" % event_id, user, forwarded_for)


class Pool:
    """Up to ``size`` keep-alive connections, each lent to one request at a time; a
    closed one is replaced when it is next lent."""

    def __init__(self, host: str, port: int, size: int) -> None:
        self.host, self.port = host, port
        self.host_header = f"{host}:{port}".encode()
        self._idle: asyncio.Queue[Connection | None] = asyncio.Queue()
        for _ in range(size):
            self._idle.put_nowait(None)

    async def send(self, raw: bytes, timeout_s: float) -> Response:
        """One request's answer; ConnectionError, OSError or TimeoutError when none came."""
        conn = await self._idle.get()
        try:
            if conn is None or conn.closed:
                conn = await asyncio.wait_for(connect(self.host, self.port), timeout_s)
            return await asyncio.wait_for(conn.send(raw), timeout_s)
        except BaseException:
            if conn is not None:
                conn.close()
            raise
        finally:
            self._idle.put_nowait(conn)

    def close(self) -> None:
        while not self._idle.empty():
            conn = self._idle.get_nowait()
            if conn is not None:
                conn.close()


def parse_json(body: bytes) -> dict[str, Any]:
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return {"result": "unparseable_body"}
    return value if isinstance(value, dict) else {"result": "unparseable_body"}
